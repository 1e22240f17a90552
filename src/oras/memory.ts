/**
 * A Target held in memory: for tests and for small in-process graphs. Content
 * is verified on push exactly as a real store would (a mismatch stores
 * nothing), so a copy engine tested against it meets the same failures.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isManifestMediaType, type Descriptor } from "./descriptor.js";
import { isDigest, parseDigest } from "./digest.js";
import { InvalidReferenceError, NotFoundError } from "./errors.js";
import { manifestLinks } from "./manifest.js";
import { PredecessorGraph } from "./predecessors.js";
import { isValidTag } from "./reference.js";
import type { Deleter, FetchOptions, PredecessorFinder, ReferencePusher, TagLister, Target } from "./target.js";
import { checkDescriptorSize, toReadable, verifyBytes, verifyingStream } from "./verify.js";

interface Stored {
  desc: Descriptor;
  bytes: Buffer;
}

export class MemoryStore implements Target, TagLister, Deleter, PredecessorFinder, ReferencePusher {
  private readonly content = new Map<string, Stored>();
  private readonly tagMap = new Map<string, Descriptor>();
  private readonly referrers = new PredecessorGraph();

  constructor(readonly name = "memory") {}

  async exists(desc: Descriptor): Promise<boolean> {
    return this.content.has(desc.digest);
  }

  async fetch(desc: Descriptor, _opts?: FetchOptions): Promise<Readable> {
    const stored = this.content.get(desc.digest);
    if (!stored) throw new NotFoundError(`${desc.digest} not found in ${this.name}`);
    // Already verified on push; the bytes cannot change here.
    return Readable.from([stored.bytes], { objectMode: false });
  }

  async push(desc: Descriptor, content: Readable | Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const what = `blob ${desc.digest} for ${this.name}`;
    parseDigest(desc.digest);
    checkDescriptorSize(desc, what);
    if (this.content.has(desc.digest)) {
      if (!(content instanceof Uint8Array)) content.destroy();
      return;
    }
    let bytes: Buffer;
    if (content instanceof Uint8Array) {
      verifyBytes(desc, content, what);
      bytes = Buffer.from(content);
    } else {
      const chunks: Buffer[] = [];
      const verifier = verifyingStream(desc, what);
      verifier.on("data", (c: Buffer) => chunks.push(c));
      await pipeline(toReadable(content), verifier, opts.signal ? { signal: opts.signal } : {});
      bytes = Buffer.concat(chunks);
    }
    const stored: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
    if (desc.artifactType !== undefined) stored.artifactType = desc.artifactType;
    this.content.set(desc.digest, { desc: stored, bytes });
    if (isManifestMediaType(desc.mediaType)) this.referrers.addManifest(stored, manifestLinks(bytes));
  }

  async pushReference(desc: Descriptor, content: Readable | Uint8Array, reference: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.push(desc, content, opts);
    await this.tag(desc, reference);
  }

  async resolve(reference: string): Promise<Descriptor> {
    if (isDigest(reference)) {
      const stored = this.content.get(reference);
      if (!stored || !isManifestMediaType(stored.desc.mediaType)) throw new NotFoundError(`manifest ${reference} not found in ${this.name}`);
      return { ...stored.desc };
    }
    const desc = this.tagMap.get(reference);
    if (!desc) throw new NotFoundError(`tag "${reference}" not found in ${this.name}`);
    return { ...desc };
  }

  async tag(desc: Descriptor, tag: string): Promise<void> {
    if (!isValidTag(tag)) throw new InvalidReferenceError(`invalid tag "${tag}"`);
    if (!this.content.has(desc.digest)) throw new NotFoundError(`cannot tag "${tag}": ${desc.digest} is not stored in ${this.name}`);
    const { data: _data, ...rest } = desc;
    this.tagMap.set(tag, rest);
  }

  async *tags(opts: { last?: string } = {}): AsyncIterable<string> {
    for (const name of [...this.tagMap.keys()].sort()) if (opts.last === undefined || name > opts.last) yield name;
  }

  async delete(desc: Descriptor): Promise<void> {
    if (!this.content.delete(desc.digest)) throw new NotFoundError(`${desc.digest} not found in ${this.name}`);
    for (const [name, d] of this.tagMap) if (d.digest === desc.digest) this.tagMap.delete(name);
    this.referrers.removeReferrer(desc.digest);
  }

  async predecessors(desc: Descriptor, opts: { artifactType?: string } = {}): Promise<Descriptor[]> {
    return this.referrers.predecessors(desc.digest, opts.artifactType);
  }

  /** Digests of everything stored, for assertions in tests. */
  digests(): string[] {
    return [...this.content.keys()];
  }
}
