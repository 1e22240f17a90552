/**
 * Credentials in docker's config file (`$DOCKER_CONFIG/config.json`, default
 * `~/.docker/config.json`), read and written the way the docker CLI does, so
 * that every tool using it (docker, oras, helm) shares one place: `auths` entries,
 * `credHelpers` per host and a default `credsStore`.
 */
import { mkdir, realpath } from "../../fs-calls.js";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { InvalidContentError, IoError, SizeLimitError } from "../../errors.js";
import { MAX_DOCKER_CONFIG_BYTES, MAX_JSON_DEPTH } from "../../limits.js";
import { DOCKER_HUB } from "../../reference.js";
import { helperErase, helperGet, helperStore, type HelperOptions } from "./cred-helper.js";
import { memoiseCredentials, type Credential, type CredentialProvider } from "./credentials.js";
import { readFileBounded, writeFileAtomic } from "../../fs.js";
import { FileLock } from "../../lock.js";
import { isJsonObject, jsonDepthExceeds } from "../../json.js";
import { jsonErrorWithoutInput } from "../../redact.js";

/** Docker Hub's key in `auths` and the server URL docker gives credential helpers. */
export const DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/";
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

export interface DockerConfigOptions {
  /** Path of config.json; default from $DOCKER_CONFIG or ~/.docker. */
  configPath?: string;
  /** Environment for $DOCKER_CONFIG and the helpers' PATH; default process.env. */
  env?: NodeJS.ProcessEnv;
  helperTimeoutMs?: number;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG;
  if (dir !== undefined && dir !== "") return join(dir, "config.json");
  return join(env.HOME && env.HOME !== "" ? env.HOME : homedir(), ".docker", "config.json");
}

/** The host an `auths`/`credHelpers` key stands for: scheme and path dropped, Docker Hub's aliases folded to `docker.io`. */
export function registryOfConfigKey(key: string): string {
  let host = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = host.indexOf("/");
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  return DOCKER_HUB_HOSTS.has(host) ? DOCKER_HUB : host;
}

/** The key docker writes for a registry, which is also the server URL given to helpers. */
export function serverUrlFor(registry: string): string {
  return registryOfConfigKey(registry) === DOCKER_HUB ? DOCKER_HUB_SERVER_URL : registry;
}

interface ConfigFile {
  path: string;
  exists: boolean;
  /** Every key of the file, kept so that a write changes only what it must. */
  data: Record<string, unknown>;
}

async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = (await readFileBounded(path, MAX_DOCKER_CONFIG_BYTES, `docker config ${path}`)).toString("utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { path, exists: false, data: {} };
    if (err instanceof SizeLimitError) throw err;
    throw new IoError(`cannot read docker config ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === "") return { path, exists: true, data: {} };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidContentError(`docker config ${path} is not valid JSON: ${jsonErrorWithoutInput(err)}`, {
      hint: "fix or remove the file",
    });
  }
  if (!isJsonObject(data)) throw new InvalidContentError(`docker config ${path} is not a JSON object`);
  if (jsonDepthExceeds(data, MAX_JSON_DEPTH)) throw new InvalidContentError(`docker config ${path} is nested deeper than ${MAX_JSON_DEPTH} levels`, { hint: "fix or remove the file" });
  return { path, exists: true, data };
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isJsonObject(value)) for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

/** Keys of `record` that stand for `registry`, the exact server URL first. */
function keysFor(record: Record<string, unknown>, registry: string): string[] {
  const want = registryOfConfigKey(registry);
  const exact = [serverUrlFor(registry), registry].filter((k) => Object.hasOwn(record, k));
  const loose = Object.keys(record).filter((k) => !exact.includes(k) && registryOfConfigKey(k) === want);
  return [...new Set(exact), ...loose];
}

/** The helper configured for registry: its own credHelpers entry, else credsStore. */
function helperFor(data: Record<string, unknown>, registry: string): string | undefined {
  const helpers = stringMap(data.credHelpers);
  const key = keysFor(helpers, registry)[0];
  if (key !== undefined && helpers[key] !== "") return helpers[key];
  return typeof data.credsStore === "string" && data.credsStore !== "" ? data.credsStore : undefined;
}

function credentialFromEntry(entry: unknown, path: string, key: string): Credential | undefined {
  if (!isJsonObject(entry)) return undefined;
  const cred: Credential = {};
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw new InvalidContentError(`docker config ${path}: the "auth" of "${key}" is not base64 of user:password`, {
        hint: `log in again to ${registryOfConfigKey(key)}`,
      });
    }
    cred.username = decoded.slice(0, colon);
    cred.password = decoded.slice(colon + 1);
  } else {
    if (typeof entry.username === "string" && entry.username !== "") cred.username = entry.username;
    if (typeof entry.password === "string" && entry.password !== "") cred.password = entry.password;
  }
  if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") cred.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === "string" && entry.registrytoken !== "") cred.registryToken = entry.registrytoken;
  return Object.keys(cred).length > 0 ? cred : undefined;
}

function helperOptions(opts: DockerConfigOptions): HelperOptions {
  const out: HelperOptions = {};
  if (opts.env) out.env = opts.env;
  if (opts.helperTimeoutMs !== undefined) out.timeoutMs = opts.helperTimeoutMs;
  return out;
}

/** The credential docker would use for registry (`host[:port]`, Hub as `docker.io`), or undefined for anonymous. */
export async function lookupDockerCredential(registry: string, opts: DockerConfigOptions = {}): Promise<Credential | undefined> {
  const file = await readConfigFile(opts.configPath ?? dockerConfigPath(opts.env));
  const helper = helperFor(file.data, registry);
  if (helper !== undefined) {
    const fromHelper = await helperGet(helper, serverUrlFor(registry), helperOptions(opts));
    if (fromHelper) return fromHelper;
  }
  const auths = isJsonObject(file.data.auths) ? file.data.auths : {};
  for (const key of keysFor(auths, registry)) {
    const cred = credentialFromEntry(auths[key], file.path, key);
    if (cred) return cred;
  }
  return undefined;
}

/** A CredentialProvider backed by the docker config, asking once per registry. */
export function dockerCredentials(opts: DockerConfigOptions = {}): CredentialProvider {
  return memoiseCredentials((registry) => lookupDockerCredential(registry, opts));
}

export interface StoredAt {
  /** "credential helper docker-credential-NAME" or the config file path. */
  location: string;
}

/** Save username/password for registry as docker does: through the helper if one is configured, else in `auths`. */
export async function storeDockerCredential(
  registry: string,
  cred: { username: string; password: string },
  opts: DockerConfigOptions = {},
): Promise<StoredAt> {
  const path = opts.configPath ?? dockerConfigPath(opts.env);
  const helper = helperFor((await readConfigFile(path)).data, registry);
  const serverUrl = serverUrlFor(registry);
  if (helper !== undefined) {
    await helperStore(helper, serverUrl, cred.username, cred.password, helperOptions(opts));
    return { location: `credential helper docker-credential-${helper}` };
  }
  await updateConfigFile(path, (data) => {
    // No prototype, so that every key (even "__proto__") is an entry like any other.
    const auths: Record<string, unknown> = Object.assign(Object.create(null), isJsonObject(data.auths) ? data.auths : {});
    const key = keysFor(auths, registry)[0] ?? serverUrl;
    const previous = isJsonObject(auths[key]) ? auths[key] : {};
    // Keep unrelated fields of the entry (e.g. email) but none of the old secrets.
    const { auth: _a, username: _u, password: _p, identitytoken: _i, registrytoken: _r, ...kept } = previous;
    auths[key] = { ...kept, auth: Buffer.from(`${cred.username}:${cred.password}`, "utf8").toString("base64") };
    return { ...data, auths };
  });
  return { location: path };
}

/** Forget the credentials for registry (helper and file); false when none were stored. */
export async function eraseDockerCredential(registry: string, opts: DockerConfigOptions = {}): Promise<boolean> {
  const path = opts.configPath ?? dockerConfigPath(opts.env);
  const file = await readConfigFile(path);
  let removed = false;
  const helper = helperFor(file.data, registry);
  if (helper !== undefined) removed = await helperErase(helper, serverUrlFor(registry), helperOptions(opts));
  if (isJsonObject(file.data.auths) && keysFor(file.data.auths, registry).length > 0) {
    const erased = await updateConfigFile(path, (data) => {
      if (!isJsonObject(data.auths)) return undefined;
      const auths = { ...data.auths };
      const keys = keysFor(auths, registry);
      if (keys.length === 0) return undefined;
      for (const key of keys) delete auths[key];
      return { ...data, auths };
    });
    removed ||= erased;
  }
  return removed;
}

/**
 * Read-modify-write of the config file under a lock file beside it
 * (`config.json.lock`), re-reading it under the lock: concurrent logins and
 * logouts (each a separate process) then all keep each other's entries.
 * `change` returns the new content, or undefined to leave the file as it is;
 * true when it was written.
 */
async function updateConfigFile(path: string, change: (data: Record<string, unknown>) => Record<string, unknown> | undefined): Promise<boolean> {
  let target = path;
  try {
    target = await realpath(path);
  } catch {
    // Not there yet: create it at the given path.
  }
  const dir = dirname(target);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new IoError(`cannot create ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const lock = await FileLock.acquire(`${target}.lock`);
  try {
    const updated = change((await readConfigFile(target)).data);
    if (updated === undefined) return false;
    await writeConfigAtomic(target, updated);
    return true;
  } finally {
    await lock.release();
  }
}

/** Atomically (temp + fsync + rename), mode 0600, at `target` (a symlinked config's real path). */
async function writeConfigAtomic(target: string, data: Record<string, unknown>): Promise<void> {
  try {
    await writeFileAtomic(target, `${JSON.stringify(data, null, "\t")}\n`, { mode: 0o600 });
  } catch (err) {
    throw new IoError(`cannot write docker config ${target}: ${(err as Error).message}`, { cause: err });
  }
}
