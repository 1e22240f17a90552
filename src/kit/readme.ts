/** A kit's README.md, read as push reads it; validate checks it the same way (and must not load the registry client). */
import path from "node:path";
import { fsCalls, IoError, NotFoundError, readFileBounded, SizeLimitError } from "../oras/content.js";
import { MAX_README_BYTES } from "./limits.js";

const { stat } = fsCalls;

/** README.md, bounded; NotFoundError saying how to add one when it is missing. */
export async function readReadme(file: string): Promise<Buffer> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new IoError(`${file}: not a regular file`);
    return await readFileBounded(file, MAX_README_BYTES);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new NotFoundError(`${file}: a kit needs a README.md next to its kit.yaml`, {
        hint: `run "kit init ${path.dirname(file)}" to add one (it keeps your kit.yaml)`,
      });
    }
    if (err instanceof SizeLimitError || err instanceof IoError) throw err;
    throw new IoError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}
