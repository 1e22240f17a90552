/**
 * Filesystem helpers for everything that writes files (OCI layouts, the
 * Docker config, kit files): every file appears under its final
 * name only when complete and on disk (temp + fsync + rename, or link for
 * create-if-absent), and filesystem failures become IoError/NotFoundError that
 * name the path.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { link, open, rename, rm } from "node:fs/promises";
import { IoError, NotFoundError, OciError } from "./errors.js";

/** A name beside `path` that no other writer (process or call) will pick. */
export function tempPathFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
}

/** Write bytes to a fresh temp file beside `path` and (when durable) fsync it; returns the temp path. */
export async function writeSyncedTemp(path: string, data: string | Uint8Array, durable = true, mode = 0o644): Promise<string> {
  const temp = tempPathFor(path);
  const fh = await open(temp, "wx", mode);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
  await fh.close();
  return temp;
}

/** Replace `path` atomically with `data` (temp + fsync + rename + directory fsync). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: { mode?: number } = {}): Promise<void> {
  const temp = await writeSyncedTemp(path, data, true, opts.mode);
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirOf(path));
}

/**
 * Create `path` with `data` only if it does not exist yet, atomically: link()
 * refuses to replace, so two processes creating the same file cannot clobber
 * one another, and no reader ever sees a partial file. Returns false if it existed.
 * `durable: false` skips the fsync for files that need not survive a crash (locks).
 */
export async function createFileExclusive(path: string, data: string | Uint8Array, durable = true, mode?: number): Promise<boolean> {
  const temp = await writeSyncedTemp(path, data, durable, mode);
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if (errnoCode(err) === "EEXIST") return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Make a rename in `dir` durable. Some filesystems refuse to fsync a directory; that is not worth failing for. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    await fh.sync();
  } catch (err) {
    const code = errnoCode(err);
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EISDIR" && code !== "EPERM") throw err;
  } finally {
    await fh?.close();
  }
}

export function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? (slash === 0 ? "/" : ".") : path.slice(0, slash);
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

/** Map a filesystem error to our hierarchy, naming the file and the action; our own errors pass through. */
export function ioError(err: unknown, action: string, path: string): OciError {
  if (err instanceof OciError) return err;
  const code = errnoCode(err);
  if (code === "ENOENT") return new NotFoundError(`cannot ${action} ${path}: no such file or directory`, { cause: err });
  const hint =
    code === "EACCES" || code === "EPERM"
      ? "check the permissions of the layout directory"
      : code === "ENOSPC"
        ? "the disk is full; free some space and retry"
        : undefined;
  const detail = err instanceof Error ? err.message : String(err);
  return new IoError(`cannot ${action} ${path}: ${detail}`, hint ? { cause: err, hint } : { cause: err });
}
