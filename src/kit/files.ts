/**
 * Writing user-facing files: complete or not at all, and never over an
 * existing file unless asked. Several files are one change: every target is
 * checked before any is written, and every file is written to a temp file
 * before any is put in place.
 */
import { link, lstat, rename, rm } from "node:fs/promises";
import path from "node:path";
import { ExistsError, IoError } from "../oras/errors.js";
import { errnoCode, fsyncDir, writeSyncedTemp } from "../oras/fs.js";

interface WriteOptions {
  /** Replace existing files (atomically). Default: refuse with ExistsError. */
  overwrite?: boolean;
  /** The second line of the error when a file exists. */
  hint: string;
}

/**
 * Write several files, refusing before writing any when one exists (unless
 * overwriting; a directory in the way is refused either way). A link in the
 * way, even a dangling one, counts as existing, and is itself replaced (not
 * its target) when overwriting.
 */
export async function writeFilesAtomic(files: readonly (readonly [string, Uint8Array | string])[], opts: WriteOptions): Promise<void> {
  for (const [file] of files) await checkTarget(file, opts);
  const temps: string[] = [];
  const created: string[] = [];
  try {
    for (const [file, data] of files) temps.push(await naming(file, () => writeSyncedTemp(file, data)));
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
    for (const dir of new Set(files.map(([file]) => path.dirname(file)))) await fsyncDir(dir);
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
}

async function checkTarget(file: string, opts: WriteOptions): Promise<void> {
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
  return new IoError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
}
