/**
 * Filesystem helpers for everything that reads or writes files (OCI layouts,
 * the Docker config, kit files): every read is bounded; every file appears
 * under its final name only when complete and on disk (temp + fsync +
 * rename, or link for create-if-absent), and filesystem failures become
 * IoError/NotFoundError that name the path.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { link, lstat, open, rename, rm } from "./fs-calls.js";
import { ExistsError, IoError, NotFoundError, OciError, SizeLimitError } from "./errors.js";

const TEMP_SUFFIX = ".tmp";
/**
 * The bytes of a file of at most `limit` bytes. SizeLimitError (naming
 * `what`) when it is bigger, before more than limit + 1 bytes are read, also
 * when it grows while being read. Filesystem errors are thrown as Node gives
 * them (callers map ENOENT their own way, or through ioError).
 */
export async function readFileBounded(path: string, limit: number, what: string = path): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    if (size > limit) throw new SizeLimitError(limit, `${what} (${size} bytes)`);
    // One byte more than expected, so growth past the stat is noticed.
    let buffer = Buffer.allocUnsafe(Math.min(size, limit) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) throw new SizeLimitError(limit, `${what} (grew past the limit while being read)`);
        const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit + 1));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const { bytesRead } = await fh.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } finally {
    await fh.close();
  }
}

/** A name beside `path` that no other writer (process or call) will pick. */
export function tempPathFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`;
}

/** True for a name tempPathFor() makes: a file a writer that died may have left behind. */
export function isTempPath(path: string): boolean {
  return path.endsWith(TEMP_SUFFIX);
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

/**
 * Replace `path` atomically with `data` (temp + fsync + rename + directory fsync).
 * `durable: false` keeps the rename (no reader sees a partial file) but skips both
 * fsyncs, for a file a crash may lose or truncate because every reader checks it
 * and can do without it (a cache).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: { mode?: number; durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const temp = await writeSyncedTemp(path, data, durable, opts.mode);
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (durable) await fsyncDir(dirOf(path));
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

export interface WriteFilesOptions {
  /** Replace existing files (atomically). Default: refuse with ExistsError. */
  overwrite?: boolean;
  /** The second line of the error when a file exists. */
  hint: string;
}

/**
 * Several files as one change, complete or not at all, never over an existing
 * file unless asked: every target is checked before any is written, and every
 * file is written to a temp file before any is put in place. Refuses before
 * writing any when one exists (unless overwriting; a directory in the way is refused either way). A link in the
 * way, even a dangling one, counts as existing, and is itself replaced (not
 * its target) when overwriting. A file's optional third element is its mode (default 0644).
 */
export async function writeFilesAtomic(files: readonly (readonly [string, Uint8Array | string, number?])[], opts: WriteFilesOptions): Promise<void> {
  for (const [file] of files) await checkTarget(file, opts);
  const temps: string[] = [];
  const created: string[] = [];
  try {
    // The mode is the temp file's from its creation, so a private key is never readable by others, not even briefly.
    for (const [file, data, mode] of files) temps.push(await naming(file, () => writeSyncedTemp(file, data, true, mode)));
    for (const [i, [file]] of files.entries()) {
      if (opts.overwrite) {
        await naming(file, () => rename(temps[i]!, file));
        continue;
      }
      // link() refuses to replace: a file that appeared since the check is still never clobbered.
      try {
        await link(temps[i]!, file);
      } catch (err) {
        // Take back what this call created, so the files appear together or not at all.
        await Promise.all(created.map((f) => rm(f, { force: true })));
        throw errnoCode(err) === "EEXIST" ? new ExistsError(`${file} already exists`, { hint: opts.hint }) : cannotWrite(file, err);
      }
      created.push(file);
    }
    for (const dir of new Set(files.map(([file]) => dirOf(file)))) await fsyncDir(dir);
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
}

async function checkTarget(file: string, opts: WriteFilesOptions): Promise<void> {
  let info;
  try {
    info = await lstat(file);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw cannotWrite(file, err);
  }
  if (info.isDirectory()) throw new IoError(`cannot write ${file}: it is a directory`, { hint: "remove it or choose another directory" });
  if (!opts.overwrite) throw new ExistsError(`${file} already exists`, { hint: opts.hint });
}

async function naming<T>(file: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw cannotWrite(file, err);
  }
}

function cannotWrite(file: string, err: unknown): IoError {
  // Node's message names the temp file; the user named the file and its directory.
  if (errnoCode(err) === "ENOENT") return new IoError(`cannot write ${file}: the directory ${dirOf(file)} does not exist`, { hint: "create it first, or choose another path", cause: err });
  if (errnoCode(err) === "EACCES") return new IoError(`cannot write ${file}: permission denied in ${dirOf(file)}`, { cause: err });
  return new IoError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
}
