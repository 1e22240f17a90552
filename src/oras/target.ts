/**
 * The storage interfaces every target implements, after oras-go v2's content
 * package: a registry repository and an OCI image layout are both a Target, so
 * copy(src, dst) needs no special cases.
 */
import type { Readable } from "node:stream";
import type { Descriptor } from "./descriptor.js";

export interface FetchOptions {
  /**
   * Hash the bytes while streaming and fail at the end on a digest or size
   * mismatch. Default true. Only a registry-to-registry copy turns this off,
   * because the destination's `PUT ?digest=` check verifies every byte anyway.
   */
  verify?: boolean;
  signal?: AbortSignal;
}

export interface ReadOnlyStorage {
  /** True when the content named by desc.digest is present. */
  exists(desc: Descriptor): Promise<boolean>;
  /** A stream of the content; errors (DigestMismatchError, SizeMismatchError) surface on the stream. */
  fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable>;
}

/**
 * A storage that can hand over small content whole without a stream (a file
 * read), which fetchAll() then verifies: cheaper than a stream for a
 * manifest or a config of a few KB. Unverified, like fetch() with verify: false.
 */
export interface BytesStorage extends ReadOnlyStorage {
  fetchBytes(desc: Descriptor, opts?: { signal?: AbortSignal }): Promise<Buffer>;
}

export function canFetchBytes(storage: ReadOnlyStorage): storage is BytesStorage {
  return typeof (storage as Partial<BytesStorage>).fetchBytes === "function";
}

export interface Storage extends ReadOnlyStorage {
  /** Store content that must hash to desc.digest and be desc.size bytes; a mismatch stores nothing. */
  push(desc: Descriptor, content: Readable | Uint8Array, opts?: { signal?: AbortSignal }): Promise<void>;
}

export interface Resolver {
  /** A tag or digest (as text) to the descriptor of the manifest it names. */
  resolve(reference: string, opts?: { signal?: AbortSignal }): Promise<Descriptor>;
}

export interface Tagger {
  /** Point `tag` at the manifest `desc` (which must already be stored). */
  tag(desc: Descriptor, tag: string, opts?: { signal?: AbortSignal }): Promise<void>;
}

export interface TagLister {
  tags(opts?: { last?: string; pageSize?: number; signal?: AbortSignal }): AsyncIterable<string>;
}

export interface PredecessorFinder {
  /** Manifests that refer to desc through their `subject` (the referrers API). */
  predecessors(desc: Descriptor, opts?: { artifactType?: string; signal?: AbortSignal }): Promise<Descriptor[]>;
}

export interface Deleter {
  delete(desc: Descriptor, opts?: { signal?: AbortSignal }): Promise<void>;
}

/** Storage plus naming: what copy() reads from and writes to. */
export interface Target extends Storage, Resolver, Tagger {
  /** Human-readable name for messages: `registry/repo` or `oci:path`. */
  readonly name: string;
}

/**
 * A Target that can satisfy a blob by cross-repository mount instead of upload.
 * Returns false when the registry declined the mount (the caller then uploads).
 */
export interface Mounter {
  mount(desc: Descriptor, fromRepository: string, opts?: { signal?: AbortSignal }): Promise<boolean>;
}

/**
 * A Target that can store a manifest and point a tag at it in one step (a
 * registry's `PUT /manifests/<tag>`), saving the separate tag request.
 */
export interface ReferencePusher {
  pushReference(desc: Descriptor, content: Readable | Uint8Array, reference: string, opts?: { signal?: AbortSignal }): Promise<void>;
}
