/**
 * The content-addressed half of an OCI image layout: `blobs/<alg>/<hex>`.
 *
 * A blob is streamed into `ingest/` (same filesystem), hashed on the way,
 * fsynced, and renamed under its digest only when digest and size match, so a
 * file under `blobs/` is always complete. Every file in `ingest/` is such a
 * temp file (other layout writers, oras-go among them, use the directory the
 * same way). The renames are made durable by syncRenames(), which the index
 * commit calls before any index.json write that could name them.
 */
import { createWriteStream } from "node:fs";
import { lstat, mkdir, open, opendir, rename, rm, stat, type FileHandle } from "../fs-calls.js";
import { addAbortSignal, pipeline, type Readable } from "node:stream";
import { pipeline as pipelineAsync } from "node:stream/promises";
import type { Descriptor } from "../descriptor.js";
import { digestOf, isDigest, parseDigest } from "../digest.js";
import { InvalidContentError, NotFoundError, SizeMismatchError } from "../errors.js";
import { errnoCode, fsyncDir, ioError, readFileBounded, tempPathFor, writeSyncedTemp } from "../fs.js";
import type { FetchOptions, ReadOnlyStorage } from "../target.js";
import { checkDescriptorSize, toReadable, verifyBytes, verifyingStream } from "../verify.js";

const READ_CHUNK_BYTES = 256 * 1024;
const ALGORITHMS = ["sha256", "sha512"] as const;

export class BlobStore implements ReadOnlyStorage {
  /** `blobs/` of the layout. */
  readonly dir: string;
  /** Where blobs are written before they are renamed into place; everything in it is a temp file. */
  readonly ingestDir: string;
  /** Blob directories that received renames since the last syncRenames(). */
  private readonly unsyncedDirs = new Set<string>();
  private readonly madeDirs = new Set<string>();

  /** `root` is the layout directory; `name` names the layout in messages. */
  constructor(
    private readonly root: string,
    readonly name: string,
  ) {
    this.dir = `${root}/blobs`;
    this.ingestDir = `${root}/ingest`;
  }

  /** Create `blobs/` (for a new layout). */
  async create(): Promise<void> {
    await mkdir(this.dir, { recursive: true }).catch((e: unknown) => {
      throw ioError(e, "create", this.dir);
    });
  }

  /**
   * Refuse a layout whose `blobs/`, `blobs/<alg>/` or `ingest/` is a symbolic
   * link (or not a directory): writes, and gc's deletions, would land outside
   * the layout, in whatever the link points at (another layout's blobs).
   */
  async checkDirectories(): Promise<void> {
    for (const relative of ["blobs", ...ALGORITHMS.map((a) => `blobs/${a}`), "ingest"]) {
      const dir = `${this.root}/${relative}`;
      let st;
      try {
        st = await lstat(dir);
      } catch (err) {
        if (errnoCode(err) === "ENOENT") continue;
        throw ioError(err, "check", dir);
      }
      if (st.isSymbolicLink()) {
        throw new InvalidContentError(`${this.name} is refused: ${relative} is a symbolic link, so its blobs would be written and deleted outside the layout`, {
          hint: `replace the link ${dir} with a directory holding what it points at`,
        });
      }
      if (!st.isDirectory()) throw new InvalidContentError(`${this.name} is not a valid OCI image layout: ${relative} is not a directory`);
    }
  }

  pathOf(digest: string): { dir: string; file: string } {
    const { algorithm, hex } = parseDigest(digest);
    const dir = `${this.dir}/${algorithm}`;
    return { dir, file: `${dir}/${hex}` };
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const { file } = this.pathOf(desc.digest);
    try {
      // A file of the wrong size is damaged; saying "absent" makes a copy replace it.
      return (await stat(file)).size === desc.size;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw ioError(err, "check", file);
    }
  }

  /**
   * The blob's file, opened for reading and exactly desc.size bytes; a missing one is NotFoundError, one of
   * another size SizeMismatchError (`damaged` makes that error, for a file that changes while it is read).
   */
  private async openBlob(desc: Descriptor, signal?: AbortSignal): Promise<{ fh: FileHandle; file: string; what: string; damaged: (size: number) => SizeMismatchError }> {
    const { file } = this.pathOf(desc.digest);
    const what = `blob ${desc.digest} in ${this.name}`;
    checkDescriptorSize(desc, what);
    signal?.throwIfAborted();
    let fh: FileHandle;
    try {
      fh = await open(file, "r");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFoundError(`${what} not found`);
      throw ioError(err, "open", file);
    }
    const damaged = (size: number) => new SizeMismatchError(desc.size, size, what, { hint: `the file ${file} is damaged; copy the content again` });
    let size;
    try {
      size = (await fh.stat()).size;
    } catch (err) {
      await fh.close();
      throw ioError(err, "read", file);
    }
    if (size !== desc.size) {
      await fh.close();
      throw damaged(size);
    }
    return { fh, file, what, damaged };
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    const { fh, what } = await this.openBlob(desc);
    const stream = fh.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
    let out: Readable = stream;
    if (opts.verify !== false) {
      const verifier = verifyingStream(desc, what);
      // pipeline() closes the file when the consumer destroys the verifier, and carries file errors to it.
      pipeline(stream, verifier, () => {});
      out = verifier;
    }
    if (opts.signal) addAbortSignal(opts.signal, out);
    return out;
  }

  /**
   * The whole blob, unverified (fetchAll() verifies it): small content read
   * without a stream. The file must be exactly desc.size bytes.
   */
  async fetchBytes(desc: Descriptor, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const { fh, file, damaged } = await this.openBlob(desc, opts.signal);
    try {
      // One byte more than the descriptor says, so a file that grew since the stat is noticed.
      const buffer = Buffer.allocUnsafe(desc.size + 1);
      let length = 0;
      for (;;) {
        let bytesRead;
        try {
          ({ bytesRead } = await fh.read(buffer, length, buffer.length - length, null));
        } catch (err) {
          throw ioError(err, "read", file);
        }
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length > desc.size) throw damaged(length);
      }
      return buffer.subarray(0, length);
    } finally {
      await fh.close();
    }
  }

  /** Store content that must match desc; present content is left alone (and the input discarded). */
  async ingest(desc: Descriptor, content: Readable | Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const what = `blob ${desc.digest} for ${this.name}`;
    // The source may fail before it is piped (we stat first); pipeline() still sees the error, but an
    // 'error' event with no listener would crash the process meanwhile.
    if (!(content instanceof Uint8Array)) content.on("error", () => {});
    let paths;
    try {
      paths = this.pathOf(desc.digest);
      checkDescriptorSize(desc, what);
      if (await this.exists(desc)) {
        discard(content);
        return;
      }
    } catch (err) {
      discard(content);
      throw err;
    }
    // Bytes in memory: checked before touching the disk at all.
    if (content instanceof Uint8Array) verifyBytes(desc, content, what);
    await this.ensureDir(this.ingestDir);
    await this.ensureDir(paths.dir);
    if (content instanceof Uint8Array) {
      // Written whole: no stream and no second hash (a stream's set-up was most of a small blob's write).
      signal?.throwIfAborted();
      return this.ingestBytes(content, paths);
    }
    const temp = tempPathFor(`${this.ingestDir}/${paths.file.slice(paths.dir.length + 1)}`);
    const sink = createWriteStream(temp, { flags: "wx", mode: 0o644, flush: true });
    let sinkError: unknown;
    sink.once("error", (err) => (sinkError = err));
    let done = false;
    try {
      await pipelineAsync(toReadable(content), verifyingStream(desc, what), sink, signal ? { signal } : {});
      await rename(temp, paths.file);
      done = true;
      this.unsyncedDirs.add(paths.dir);
    } catch (err) {
      throw err === sinkError ? ioError(err, "write", temp) : err;
    } finally {
      if (!done) await rm(temp, { force: true });
    }
  }

  /** Verified bytes into place: temp file in ingest/ (written, fsynced, closed), then renamed, as for a stream. */
  private async ingestBytes(bytes: Uint8Array, paths: { dir: string; file: string }): Promise<void> {
    const beside = `${this.ingestDir}/${paths.file.slice(paths.dir.length + 1)}`;
    let temp: string;
    try {
      temp = await writeSyncedTemp(beside, bytes);
    } catch (err) {
      throw ioError(err, "write", beside);
    }
    try {
      await rename(temp, paths.file);
    } catch (err) {
      await rm(temp, { force: true });
      throw ioError(err, "write", paths.file);
    }
    this.unsyncedDirs.add(paths.dir);
  }

  /** A stored blob's bytes when it is there, at most `limit` bytes and matches desc; else undefined. */
  async readVerified(desc: Descriptor, limit: number): Promise<Buffer | undefined> {
    if (desc.size > limit) return undefined;
    const { file } = this.pathOf(desc.digest);
    let bytes: Buffer;
    try {
      bytes = await readFileBounded(file, desc.size);
    } catch {
      return undefined;
    }
    if (bytes.length !== desc.size || digestOf(bytes, parseDigest(desc.digest).algorithm) !== desc.digest) return undefined;
    return bytes;
  }

  /** Make every rename into blobs/ so far durable. */
  async syncRenames(): Promise<void> {
    for (const dir of [...this.unsyncedDirs]) {
      this.unsyncedDirs.delete(dir);
      await fsyncDir(dir);
    }
  }

  /** Digests of every blob file present (any content, referenced or not); names that are not digests are skipped. */
  async *list(): AsyncIterable<string> {
    for (const algorithm of ALGORITHMS) {
      let dir;
      try {
        dir = await opendir(`${this.dir}/${algorithm}`);
      } catch (err) {
        if (errnoCode(err) === "ENOENT") continue;
        throw ioError(err, "list", `${this.dir}/${algorithm}`);
      }
      for await (const entry of dir) {
        const digest = `${algorithm}:${entry.name}`;
        if (entry.isFile() && isDigest(digest)) yield digest;
      }
    }
  }

  /** Delete a blob's file; its size, or undefined when there was none. */
  async remove(digest: string): Promise<number | undefined> {
    const { file } = this.pathOf(digest);
    try {
      const { size } = await lstat(file);
      await rm(file);
      return size;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      throw ioError(err, "delete", file);
    }
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true }).catch((err: unknown) => {
      throw ioError(err, "create", dir);
    });
    this.madeDirs.add(dir);
  }
}

/** Content we do not need: a stream is destroyed so its source stops sending. */
export function discard(content: Readable | Uint8Array): void {
  if (!(content instanceof Uint8Array)) content.destroy();
}
