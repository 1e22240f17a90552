/**
 * A lock file shared by every process that read-modify-writes one thing: a
 * layout's index.json, the docker config, a caller's store.
 *
 * The lock is created whole with link() (so nobody ever sees it empty) and
 * names its holder (host, pid, random token). A waiter backs off with jitter
 * and gives up after `timeoutMs`. A lock is stale when its holder on this host
 * is no longer running, or when it is older than `staleMs` (a holder keeps it
 * only for one short update). Breaking a stale lock happens under a second,
 * short-lived lock and re-checks the token, so two waiters cannot both break it
 * and remove a fresh lock by mistake. Release removes the file only while it
 * still carries our token.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { rm, stat } from "./fs-calls.js";
import { setTimeout as sleep } from "node:timers/promises";
import { IoError } from "./errors.js";
import { createFileExclusive, errnoCode, ioError, readFileBounded } from "./fs.js";
import { isJsonObject } from "./json.js";
import { MAX_LOCK_FILE_BYTES } from "./limits.js";

export interface LockOptions {
  /** Give up waiting after this long (default 60 s). */
  timeoutMs?: number;
  /** Treat a lock older than this as abandoned (default 30 s). */
  staleMs?: number;
  signal?: AbortSignal;
}

interface LockOwner {
  host: string;
  pid: number;
  token: string;
  acquiredAt: string;
}

const BREAK_LOCK_STALE_MS = 10_000;

export class FileLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  static async acquire(path: string, opts: LockOptions = {}): Promise<FileLock> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const staleMs = opts.staleMs ?? 30_000;
    const token = randomBytes(12).toString("hex");
    const owner: LockOwner = { host: hostname(), pid: process.pid, token, acquiredAt: new Date().toISOString() };
    const content = JSON.stringify(owner);
    const deadline = Date.now() + timeoutMs;
    let delay = 1;
    for (;;) {
      opts.signal?.throwIfAborted();
      let created: boolean;
      try {
        created = await createFileExclusive(path, content, false);
      } catch (err) {
        throw ioError(err, "create the lock file", path);
      }
      if (created) return new FileLock(path, token);
      if (await breakIfStale(path, staleMs)) continue;
      if (Date.now() >= deadline) {
        const holder = await readOwner(path);
        const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.acquiredAt}` : "another process";
        throw new IoError(`timed out after ${timeoutMs} ms waiting for the lock ${path}, held by ${who}`, {
          hint: `if no other process is using it, delete ${path}`,
        });
      }
      // Jitter keeps many waiters from retrying in lock-step.
      await sleep(delay + Math.random() * delay, undefined, opts.signal ? { signal: opts.signal } : undefined);
      delay = Math.min(delay * 2, 50);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const owner = await readOwner(this.path);
    // Someone judged our lock stale and took over: their lock is not ours to remove.
    if (owner?.token !== this.token) return;
    await rm(this.path, { force: true });
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const value: unknown = JSON.parse((await readFileBounded(path, MAX_LOCK_FILE_BYTES)).toString("utf8"));
    if (!isJsonObject(value)) return undefined;
    const { host, pid, token, acquiredAt } = value;
    if (typeof host !== "string" || typeof pid !== "number" || typeof token !== "string") return undefined;
    return { host, pid, token, acquiredAt: typeof acquiredAt === "string" ? acquiredAt : "an unknown time" };
  } catch {
    return undefined;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(err) === "EPERM";
  }
}

async function ageMs(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function isStale(path: string, owner: LockOwner | undefined, staleMs: number): Promise<boolean> {
  if (owner && owner.host === hostname() && !processIsAlive(owner.pid)) return true;
  const age = await ageMs(path);
  return age !== undefined && age > staleMs;
}

/** Remove the lock at `path` if it is stale; true when it was removed (or had vanished), so the caller retries at once. */
async function breakIfStale(path: string, staleMs: number): Promise<boolean> {
  const owner = await readOwner(path);
  if (!(await isStale(path, owner, staleMs))) return false;
  const breakPath = `${path}.break`;
  if (!(await createFileExclusive(breakPath, String(process.pid), false))) {
    const age = await ageMs(breakPath);
    // A breaker that died between its two steps leaves this behind.
    if (age !== undefined && age > BREAK_LOCK_STALE_MS) await rm(breakPath, { force: true });
    return false;
  }
  try {
    const again = await readOwner(path);
    // Only the very lock judged stale may go; a fresh one taken meanwhile stays.
    if (again?.token === owner?.token && (await isStale(path, again, staleMs))) {
      await rm(path, { force: true });
      return true;
    }
    return false;
  } finally {
    await rm(breakPath, { force: true });
  }
}
