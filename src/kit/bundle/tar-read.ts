/**
 * Reading a bundle's tar as a stream, never extracting: node-tar's Parser
 * (strict: a bad checksum, a truncated archive or an invalid header is an
 * error, not a warning) hands over one entry at a time, and each entry is
 * checked (classifyEntry) before its data is read. Entries are handled one
 * after the other, and the input is read only as fast as they are: nothing
 * but the parser's current chunk is held.
 */
import { Readable } from "node:stream";
import type { ReadEntry } from "tar";
import { InvalidContentError, IoError, OciError, SizeLimitError } from "../../oras/content.js";
import { MAX_BUNDLE_ENTRIES, MAX_TAR_HEADER_BYTES } from "../limits.js";
import { classifyEntry, type LayoutPath } from "./format.js";

export interface TarEntry {
  /** The path as the tar writes it. */
  path: string;
  size: number;
  /** What it is in the layout. */
  layout: LayoutPath;
  /** The data: read it to its end, or leave it (the reader drops what is left). */
  body: Readable;
}

/** What a handler returns: "stop" ends the reading early (a listing that has what it needs). */
export type EntryResult = void | "stop";

/**
 * Read every entry of the tar `input` carries, handing each to `onEntry` in
 * order. Resolves once the archive has ended and every handler is done (or
 * one said "stop"); rejects with the first failure — the tar's, a refused
 * entry's (naming it), or a handler's — after destroying `input`.
 */
export async function readTar(input: Readable, where: string, onEntry: (entry: TarEntry) => Promise<EntryResult>): Promise<void> {
  const { Parser } = await import("tar");
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let entries = 0;
    let chain: Promise<unknown> = Promise.resolve();
    const parser = new Parser({ strict: true, maxMetaEntrySize: MAX_TAR_HEADER_BYTES, zstd: false, brotli: false });

    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      input.unpipe(parser);
      input.destroy();
      if (err === undefined) resolve();
      else reject(err);
    };

    parser.on("entry", (entry: ReadEntry) => {
      if (settled) {
        entry.resume();
        return;
      }
      entries++;
      if (entries > MAX_BUNDLE_ENTRIES) {
        entry.resume();
        finish(new SizeLimitError(MAX_BUNDLE_ENTRIES, `the tar entries of ${where}`, { unit: "entries" }));
        return;
      }
      let layout: LayoutPath;
      try {
        layout = classifyEntry(entry.path, entry.type);
      } catch (err) {
        entry.resume();
        finish(err);
        return;
      }
      const body = Readable.from(entry, { objectMode: false });
      chain = chain
        .then(async () => {
          if (settled) return;
          const result = await onEntry({ path: entry.path, size: entry.size, layout, body });
          if (result === "stop") finish();
        })
        .catch((err: unknown) => finish(err))
        .finally(() => {
          // Whatever the handler left unread is skipped, so the next entry can come.
          if (!entry.emittedEnd) entry.resume();
        });
    });
    parser.on("ignoredEntry", (entry: ReadEntry) => {
      entry.resume();
      const why = entry.meta ? `its extended header is larger than ${MAX_TAR_HEADER_BYTES} bytes` : `it is a tar entry of type ${entry.type}, and a bundle holds regular files only`;
      finish(new InvalidContentError(`bundle entry ${JSON.stringify(entry.path)} in ${where} is refused: ${why}`));
    });
    parser.on("error", (err: Error) => finish(tarError(err, where)));
    parser.on("end", () => {
      chain.then(() => finish(), finish);
    });
    input.on("error", (err: Error) => finish(inputError(err, where)));
    input.pipe(parser);
  });
}

function tarError(err: Error, where: string): OciError {
  const code = (err as { tarCode?: unknown }).tarCode;
  const entry = (err as { entry?: { path?: unknown }; header?: { path?: unknown } }).entry?.path ?? (err as { header?: { path?: unknown } }).header?.path;
  const at = typeof entry === "string" ? ` at entry ${JSON.stringify(entry)}` : "";
  const message = err.message.replace(/^TAR_[A-Z_]+: /, "");
  const what = code === "TAR_BAD_ARCHIVE" && /truncated/i.test(message) ? "is cut short" : "is not a valid tar archive";
  return new InvalidContentError(`${where} ${what}${at}: ${message}`, { hint: "the file is damaged or not a bundle; kit save writes one", cause: err });
}

function inputError(err: Error, where: string): OciError {
  if (err instanceof OciError) return err;
  // zlib names its failures Z_DATA_ERROR and the like: damaged compressed data.
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("Z_")) {
    return new InvalidContentError(`${where} is damaged: its compressed data does not decompress (${err.message})`, { cause: err });
  }
  return new IoError(`cannot read ${where}: ${err.message}`, { cause: err });
}
