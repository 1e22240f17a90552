/**
 * Docker credential helpers: `docker-credential-<name> get|store|erase`, one
 * request on stdin, one answer on stdout. Every run is bounded in time and
 * output. Secrets travel only through the pipes, never arguments or messages.
 */
import { spawn } from "node:child_process";
import { IoError, InvalidContentError, UsageError } from "../../errors.js";
import { MAX_CRED_HELPER_OUTPUT_BYTES } from "../../limits.js";
import type { Credential } from "./credentials.js";

export const HELPER_TIMEOUT_MS = 30_000;
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface HelperOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

interface HelperResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function helperProgram(name: string): string {
  if (!HELPER_NAME.test(name)) throw new UsageError(`invalid credential helper name "${name}" in the docker config`);
  return `docker-credential-${name}`;
}

function runHelper(name: string, action: "get" | "store" | "erase", input: string, opts: HelperOptions): Promise<HelperResult> {
  const program = helperProgram(name);
  const timeoutMs = opts.timeoutMs ?? HELPER_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let failure: Error | undefined;
    const fail = (e: Error): void => {
      if (failure) return;
      failure = e;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => fail(new IoError(`${program} ${action} did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_CRED_HELPER_OUTPUT_BYTES) fail(new IoError(`${program} ${action} wrote more than ${MAX_CRED_HELPER_OUTPUT_BYTES} bytes`));
      else out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      errBytes += chunk.length;
      if (errBytes <= MAX_CRED_HELPER_OUTPUT_BYTES) err.push(chunk);
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === "ENOENT") {
        reject(new IoError(`credential helper ${program} is not installed (not found on PATH)`, {
          hint: "install it, or remove it from credsStore/credHelpers in the docker config",
          cause: e,
        }));
      } else {
        reject(new IoError(`cannot run credential helper ${program}: ${e.message}`, { cause: e }));
      }
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    // A helper that exits without reading stdin gives EPIPE here; its exit status tells the story.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

/** The helper's own words (first line, trimmed) for an error message. Never used for `store`, whose input is a secret. */
function firstLine(text: string): string {
  const line = text.trim().split(/\r?\n/)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function isNotFound(result: HelperResult): boolean {
  return /credentials not found/i.test(result.stdout) || /credentials not found/i.test(result.stderr);
}

/** `get`: the stored credential for serverUrl, or undefined when the helper has none. */
export async function helperGet(name: string, serverUrl: string, opts: HelperOptions = {}): Promise<Credential | undefined> {
  const result = await runHelper(name, "get", serverUrl, opts);
  if (result.code !== 0) {
    if (isNotFound(result)) return undefined;
    const said = firstLine(result.stderr || result.stdout);
    throw new IoError(`credential helper ${helperProgram(name)} failed for ${serverUrl} (exit ${result.code})${said ? `: ${said}` : ""}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new InvalidContentError(`credential helper ${helperProgram(name)} printed something that is not JSON for ${serverUrl}`);
  }
  const rec = (parsed ?? {}) as { Username?: unknown; Secret?: unknown };
  const username = typeof rec.Username === "string" ? rec.Username : "";
  const secret = typeof rec.Secret === "string" ? rec.Secret : "";
  if (secret === "" && username === "") return undefined;
  // Docker's convention: the user name "<token>" marks the secret as an identity (refresh) token.
  if (username === "<token>") return { identityToken: secret };
  return { username, password: secret };
}

/** `store`: save username/secret for serverUrl. */
export async function helperStore(
  name: string,
  serverUrl: string,
  username: string,
  secret: string,
  opts: HelperOptions = {},
): Promise<void> {
  const input = JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret });
  const result = await runHelper(name, "store", input, opts);
  if (result.code !== 0) {
    throw new IoError(`credential helper ${helperProgram(name)} could not store the credentials for ${serverUrl} (exit ${result.code})`);
  }
}

/** `erase`: forget serverUrl; false when the helper had nothing stored. */
export async function helperErase(name: string, serverUrl: string, opts: HelperOptions = {}): Promise<boolean> {
  const result = await runHelper(name, "erase", serverUrl, opts);
  if (result.code !== 0) {
    if (isNotFound(result)) return false;
    const said = firstLine(result.stderr || result.stdout);
    throw new IoError(`credential helper ${helperProgram(name)} could not erase the credentials for ${serverUrl} (exit ${result.code})${said ? `: ${said}` : ""}`);
  }
  return true;
}
