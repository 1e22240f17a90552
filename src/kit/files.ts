/** Writing user-facing files: complete or not at all, and never over an existing file unless asked. */
import { stat } from "node:fs/promises";
import { createFileExclusive, ExistsError, IoError, writeFileAtomic } from "../oras/content.js";

interface WriteOptions {
  /** Replace existing files (atomically). Default: refuse with ExistsError. */
  overwrite?: boolean;
  /** The second line of the error when a file exists. */
  hint: string;
}

/** Write several files, refusing before writing any when one exists (unless overwriting). */
export async function writeFilesAtomic(files: readonly (readonly [string, Uint8Array | string])[], opts: WriteOptions): Promise<void> {
  if (!opts.overwrite) {
    for (const [file] of files) {
      if (await pathExists(file)) throw new ExistsError(`${file} already exists`, { hint: opts.hint });
    }
  }
  for (const [file, data] of files) {
    let created: boolean;
    try {
      // Without overwrite, link() refuses to replace: a file that appeared since the check is still never clobbered.
      created = opts.overwrite ? (await writeFileAtomic(file, data), true) : await createFileExclusive(file, data);
    } catch (err) {
      throw new IoError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (!created) throw new ExistsError(`${file} already exists`, { hint: opts.hint });
  }
}

async function pathExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
