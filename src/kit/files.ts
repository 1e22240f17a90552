/** Writing user-facing files: complete or not at all, and never over an existing file unless asked. */
import { randomBytes } from "node:crypto";
import { link, open, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { ExistsError, IoError } from "../oras/errors.js";

export interface WriteOptions {
  /** Replace an existing file (atomically). Default: refuse with ExistsError. */
  overwrite?: boolean;
  mode?: number;
}

/** Write via a temp file in the same directory, fsync, then link (no overwrite) or rename (overwrite). */
export async function writeFileAtomic(file: string, data: Uint8Array | string, opts: WriteOptions = {}): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", opts.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (opts.overwrite) {
      await rename(temp, file);
    } else {
      // link() fails with EEXIST instead of replacing, which makes "never overwrite" race-free.
      await link(temp, file);
      await unlink(temp);
    }
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new ExistsError(`${file} already exists`, { hint: "remove it first or choose another directory" });
    throw new IoError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Write several files, refusing before writing any when one exists (unless overwriting). */
export async function writeFilesAtomic(files: readonly (readonly [string, Uint8Array | string])[], opts: WriteOptions & { hint: string }): Promise<void> {
  if (!opts.overwrite) {
    for (const [file] of files) {
      if (await pathExists(file)) throw new ExistsError(`${file} already exists`, { hint: opts.hint });
    }
  }
  for (const [file, data] of files) await writeFileAtomic(file, data, opts);
}

export async function pathExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
