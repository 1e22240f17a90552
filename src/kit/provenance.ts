/**
 * Where a kit came from, for the manifest's source/revision/created
 * annotations. Only facts that are the same on every run go in, so packing
 * stays reproducible.
 */
import { execFile } from "node:child_process";
import { UsageError } from "../oras/content.js";

interface GitInfo {
  source?: string;
  revision?: string;
}

function git(dir: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", ["-C", dir, ...args], { timeout: 5000, maxBuffer: 64 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim() || undefined),
    );
  });
}

/** The checkout's origin URL (credentials removed) and HEAD commit; nothing outside a git checkout. */
export async function gitInfo(dir: string): Promise<GitInfo> {
  const revision = await git(dir, ["rev-parse", "--verify", "-q", "HEAD"]);
  if (revision === undefined || !/^[0-9a-f]{40,64}$/.test(revision)) return {};
  const remote = await git(dir, ["remote", "get-url", "origin"]);
  const info: GitInfo = { revision };
  const source = remote === undefined ? undefined : sanitizeRemote(remote);
  if (source !== undefined) info.source = source;
  return info;
}

/** Drop userinfo (tokens are often embedded as https://user:token@host/...) so no credential lands in a manifest. */
export function sanitizeRemote(remote: string): string | undefined {
  try {
    const url = new URL(remote);
    if (url.protocol === "file:") return undefined;
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    return url.toString();
  } catch {
    // scp-like `git@github.com:org/repo.git`: the user part is not a secret, but keep only host and path.
    const scp = /^(?:[^@/]+@)?([^:/]+):(.+)$/.exec(remote);
    return scp ? `ssh://${scp[1]}/${scp[2]!.replace(/^\/+/, "")}` : undefined;
  }
}

/** `--created` wins; otherwise SOURCE_DATE_EPOCH; otherwise no timestamp at all (reproducible by default). */
export function createdTimestamp(created: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (created !== undefined) {
    const date = created === "now" ? new Date() : new Date(created);
    if (Number.isNaN(date.getTime())) throw new UsageError(`invalid --created "${created}": use an RFC 3339 time such as 2026-01-31T12:00:00Z, or "now"`);
    return rfc3339(date);
  }
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === "") return undefined;
  if (!/^\d+$/.test(epoch)) throw new UsageError(`invalid SOURCE_DATE_EPOCH "${epoch}": expected seconds since 1970 as an integer`);
  return rfc3339(new Date(Number(epoch) * 1000));
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
