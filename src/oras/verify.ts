/**
 * Verify-while-streaming and bounded reads: the two ways bytes from outside
 * become trusted. Big content (blobs) flows through verifyingStream and is
 * never held in memory; small content (manifests, configs) is read whole but
 * only up to a limit.
 */
import type { Hash } from "node:crypto";
import { addAbortSignal, pipeline, Readable, Transform, type TransformCallback } from "node:stream";
import type { Descriptor } from "./descriptor.js";
import { createDigester, parseDigest, type DigestAlgorithm } from "./digest.js";
import { DigestMismatchError, InvalidContentError, SizeLimitError, SizeMismatchError } from "./errors.js";
import { canFetchBytes, type ReadOnlyStorage } from "./target.js";

/** Throws InvalidContentError unless desc.size is a usable byte count. */
export function checkDescriptorSize(desc: Descriptor, what: string): void {
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new InvalidContentError(`invalid size ${String(desc.size)} in the descriptor of ${what}: expected a non-negative integer`);
  }
}

/**
 * A pass-through that hashes and counts. It fails as soon as more bytes than
 * desc.size arrive (so an endless or oversized body is cut off early) and, at
 * the end, when the size or digest differs. `digest` and `bytes` are readable
 * after the stream has finished.
 */
export class VerifyingStream extends Transform {
  readonly expected: Descriptor;
  readonly algorithm: DigestAlgorithm;
  /** Bytes seen so far. */
  bytes = 0;
  /** The computed digest, set once the stream has ended. */
  digest: string | undefined;
  private readonly hash: Hash;
  private readonly what: string;

  constructor(desc: Descriptor, what: string) {
    super();
    checkDescriptorSize(desc, what);
    this.expected = desc;
    this.algorithm = parseDigest(desc.digest).algorithm;
    this.hash = createDigester(this.algorithm);
    this.what = what;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected.size) {
      callback(
        new SizeMismatchError(this.expected.size, this.bytes, this.what, {
          hint: "the content is larger than its descriptor says; it was cut off here",
        }),
      );
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expected.size) {
      callback(new SizeMismatchError(this.expected.size, this.bytes, this.what));
      return;
    }
    this.digest = `${this.algorithm}:${this.hash.digest("hex")}`;
    if (this.digest !== this.expected.digest) {
      callback(new DigestMismatchError(this.expected.digest, this.digest, this.what));
      return;
    }
    callback();
  }
}

/** A Transform that passes bytes through and errors on any size or digest mismatch with desc. */
export function verifyingStream(desc: Descriptor, what: string): VerifyingStream {
  return new VerifyingStream(desc, what);
}

/** Throws SizeMismatchError / DigestMismatchError unless bytes match desc. */
export function verifyBytes(desc: Descriptor, bytes: Uint8Array, what: string): void {
  checkDescriptorSize(desc, what);
  const { algorithm } = parseDigest(desc.digest);
  if (bytes.length !== desc.size) throw new SizeMismatchError(desc.size, bytes.length, what);
  const actual = `${algorithm}:${createDigester(algorithm).update(bytes).digest("hex")}`;
  if (actual !== desc.digest) throw new DigestMismatchError(desc.digest, actual, what);
}

/**
 * Read a whole stream into memory, refusing more than `limit` bytes: past the
 * limit the stream is destroyed and SizeLimitError thrown. For small things
 * only (manifests, configs, index.json).
 */
export async function readAllLimited(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf: Buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      total += buf.length;
      if (total > limit) throw new SizeLimitError(limit, what);
      chunks.push(buf);
    }
  } finally {
    // Leaving a for-await early destroys the stream already; this covers the throw-before-iteration case too.
    if (!stream.destroyed && total > limit) stream.destroy();
  }
  return Buffer.concat(chunks, total);
}

export interface FetchAllOptions {
  /** Refuse content larger than this (default: no limit beyond desc.size). */
  limit?: number;
  /** Names the content in error messages; defaults to the digest. */
  what?: string;
  signal?: AbortSignal;
}

/**
 * Fetch small content whole and verified: the descriptor's size is checked
 * against the limit before any byte is read, the bytes are hashed once here
 * (so the storage is asked not to verify a second time), and embedded
 * `data` is used without a fetch when present.
 */
export async function fetchAll(storage: ReadOnlyStorage, desc: Descriptor, opts: FetchAllOptions = {}): Promise<Buffer> {
  const what = opts.what ?? desc.digest;
  checkDescriptorSize(desc, what);
  if (opts.limit !== undefined && desc.size > opts.limit) {
    throw new SizeLimitError(opts.limit, `${what} (${desc.size} bytes)`);
  }
  if (desc.data !== undefined) {
    const embedded = Buffer.from(desc.data, "base64");
    verifyBytes(desc, embedded, `embedded data of ${what}`);
    return embedded;
  }
  if (canFetchBytes(storage)) {
    const bytes = await storage.fetchBytes(desc, opts.signal ? { signal: opts.signal } : {});
    verifyBytes(desc, bytes, what);
    return bytes;
  }
  const source = await storage.fetch(desc, opts.signal ? { verify: false, signal: opts.signal } : { verify: false });
  const verifier = verifyingStream(desc, what);
  if (opts.signal) addAbortSignal(opts.signal, verifier);
  // pipeline() carries an error on either side to the other, so the read below rejects with it.
  pipeline(source, verifier, () => {});
  return readAllLimited(verifier, desc.size, what);
}

/** Content given to push() as bytes or a stream, as a stream. */
export function toReadable(content: Readable | Uint8Array): Readable {
  return content instanceof Uint8Array ? Readable.from([Buffer.from(content.buffer, content.byteOffset, content.byteLength)]) : content;
}
