/**
 * Opening a bundle file: its compression told by the magic bytes at its
 * start, and as many decompressed streams over it as a command needs (load
 * reads it twice: verify, then write). Standard input cannot be read twice.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline, type Readable } from "node:stream";
import { errnoCode, InvalidContentError, ioError, NotFoundError, UsageError } from "../../oras/content.js";
import { type BundleCompression, decompressor, detectCompression, MAGIC_BYTES } from "./compression.js";

export interface BundleFile {
  path: string;
  /** Names the bundle in messages: `bundle PATH`. */
  where: string;
  compression: BundleCompression;
  /** Bytes of the file as it is (compressed). */
  size: number;
}

const READ_CHUNK_BYTES = 256 * 1024;

export async function openBundleFile(path: string, command: string): Promise<BundleFile> {
  if (path === "-") {
    throw new UsageError(`${command} reads a bundle file, not standard input: it reads the bundle twice, to verify everything before writing anything`, {
      hint: "save the stream to a file first, then name the file",
    });
  }
  const where = `bundle ${path}`;
  let fh;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw new NotFoundError(`${where} not found`);
    throw ioError(err, "open", path);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new InvalidContentError(`${where} is not a file`, { hint: "a bundle is the file kit save writes (a tar, possibly compressed)" });
    const head = Buffer.alloc(MAGIC_BYTES);
    const { bytesRead } = await fh.read(head, 0, MAGIC_BYTES, 0);
    return { path, where, compression: detectCompression(head.subarray(0, bytesRead), where), size: st.size };
  } catch (err) {
    throw ioError(err, "read", path);
  } finally {
    await fh.close();
  }
}

/** The bundle's tar, decompressed as it is read; a failure to read the file surfaces on it. */
export function bundleTarStream(bundle: BundleFile): Readable {
  const file = createReadStream(bundle.path, { highWaterMark: READ_CHUNK_BYTES });
  const unzip = decompressor(bundle.compression, bundle.where);
  if (unzip === undefined) return file;
  // pipeline() hands a failure of the file on to the decompressor, where the reader listens.
  pipeline(file, unzip, () => {});
  return unzip;
}
