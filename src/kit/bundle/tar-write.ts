/**
 * Writing a tar of regular files whose contents stream in (from a registry,
 * the local store) with sizes known in advance.
 *
 * node-tar's Pack adds files from disk or entries of another tar it parses;
 * it has no entry for "this many bytes from that stream", so we encode each
 * header with its Header class (and its Pax class when a name does not fit
 * ustar's 100 + 155 bytes, as a sha512 blob name does not) and write the
 * data and the padding to 512 bytes ourselves. Every header is the same but
 * for name and size (mode 0644, owner 0, mtime 0): the same content gives the
 * same bytes.
 */
import { SizeMismatchError } from "../../oras/content.js";

const BLOCK = 512;
const EPOCH = new Date(0);

export interface TarFileWriter {
  /** The header block(s) of a regular file: a pax header first when ustar cannot hold its name or size. */
  header(name: string, size: number): Buffer;
}

/** Loads node-tar (only the commands that read or write bundles pay for it). */
export async function tarFileWriter(): Promise<TarFileWriter> {
  const { Header, Pax } = await import("tar");
  return {
    header(name, size) {
      const fields = { path: name, mode: 0o644, uid: 0, gid: 0, size, mtime: EPOCH, type: "File" as const, uname: "", gname: "" };
      const block = Buffer.alloc(BLOCK);
      const needPax = new Header(fields).encode(block);
      if (!needPax) return block;
      // The ustar fields keep what fits (the name's tail, the size in base-256); readers take the pax values.
      return Buffer.concat([new Pax({ path: name, size }).encode(), block]);
    },
  };
}

/** Zeros after a file's data, up to the next 512-byte boundary. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/**
 * One file entry: header, the data as it streams, padding. Refuses data of
 * another size than announced (the header is already out), `what` naming it.
 */
export async function* tarFile(writer: TarFileWriter, name: string, size: number, data: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>, what: string): AsyncGenerator<Buffer> {
  yield writer.header(name, size);
  let written = 0;
  for await (const chunk of data) {
    written += chunk.length;
    if (written > size) throw new SizeMismatchError(size, written, what);
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  if (written !== size) throw new SizeMismatchError(size, written, what);
  yield tarPadding(size);
}
