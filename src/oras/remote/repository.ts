/**
 * One repository on a registry as a Target (after oras-go's remote.Repository):
 * manifests and blobs are told apart by media type, so copy() can treat a
 * registry and an OCI layout alike.
 */
import { Readable } from "node:stream";
import type { Descriptor } from "../descriptor.js";
import { isManifestMediaType } from "../descriptor.js";
import { isDigest } from "../digest.js";
import { manifestLinks, referrerDescriptor } from "../manifest.js";
import { MAX_MANIFEST_BYTES } from "../limits.js";
import { InvalidReferenceError, SizeMismatchError } from "../errors.js";
import { isValidRepository, isValidTag, parseReference, type RegistryReference } from "../reference.js";
import type { Deleter, FetchOptions, Mounter, PredecessorFinder, TagLister, Target } from "../target.js";
import { readAllLimited, toReadable } from "../verify.js";
import { blobExists, deleteBlob, fetchBlob, mountBlob } from "./blobs.js";
import {
  deleteManifest,
  getManifest,
  manifestExists,
  putManifest,
  resolveManifest,
  type ManifestContent,
} from "./manifests.js";
import { addToReferrersIndex, listReferrers } from "./referrers.js";
import type { RegistryFeatures } from "./capabilities.js";
import { RegistryClient, type RemoteOptions, type RepoContext } from "./registry-client.js";
import { listTags } from "./tags.js";
import { uploadBlob } from "./upload.js";
import { DEFAULT_UPLOAD_POLICY, type UploadPolicy } from "./upload-policy.js";

type Signal = { signal?: AbortSignal };

export interface PushManifestOptions extends Signal {
  /** PUT under this tag (one request) instead of the digest. */
  tag?: string;
}

export class RemoteRepository implements Target, Mounter, TagLister, PredecessorFinder, Deleter {
  readonly registry: string;
  readonly repository: string;
  readonly client: RegistryClient;
  private readonly ctx: RepoContext;
  private readonly uploadPolicy: UploadPolicy;

  /**
   * `ref` names the repository (its tag/digest, if any, are ignored). Pass
   * `client` to share connections settings and cached tokens with other
   * repositories of the same registry (RemoteRegistry.repository does).
   */
  constructor(ref: Pick<RegistryReference, "registry" | "repository">, options: RemoteOptions & { client?: RegistryClient } = {}) {
    if (!isValidRepository(ref.repository)) throw new InvalidReferenceError(`invalid repository name "${ref.repository}"`);
    this.registry = ref.registry;
    this.repository = ref.repository;
    this.client = options.client ?? new RegistryClient(ref.registry, options);
    if (this.client.registry !== ref.registry) {
      throw new InvalidReferenceError(`repository ${ref.registry}/${ref.repository} given a client for ${this.client.registry}`);
    }
    this.ctx = { client: this.client, repository: ref.repository };
    this.uploadPolicy = { ...DEFAULT_UPLOAD_POLICY, ...this.client.options.upload, ...options.upload };
  }

  /** What this repository's registry was found to support (shared per registry through RemoteOptions.capabilities). */
  get features(): RegistryFeatures {
    return this.client.features;
  }

  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** A tag or digest of this repository, or a full reference to it. */
  private reference(reference: string): string {
    if (isDigest(reference) || isValidTag(reference)) return reference;
    const ref = parseReference(reference);
    if (ref.registry !== this.registry || ref.repository !== this.repository) {
      throw new InvalidReferenceError(`reference "${reference}" is not in repository ${this.name}`);
    }
    const named = ref.digest ?? ref.tag;
    if (named === undefined) throw new InvalidReferenceError(`reference "${reference}" names no tag or digest`);
    return named;
  }

  /** Run fn as one operation (Timeouts.operationMs) about `what`. */
  private op<T>(what: string, opts: Signal, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    return this.client.operation(`${what} in ${this.name}`, opts.signal, fn);
  }

  async resolve(reference: string, opts: Signal = {}): Promise<Descriptor> {
    const named = this.reference(reference);
    return this.op(`resolve ${named}`, opts, (signal) => resolveManifest(this.ctx, named, signal));
  }

  /** The manifest bytes (bounded, verified) and their descriptor, by tag or digest. */
  async fetchManifest(reference: string, opts: Signal = {}): Promise<ManifestContent> {
    const named = this.reference(reference);
    return this.op(`fetch manifest ${named}`, opts, (signal) => getManifest(this.ctx, named, signal));
  }

  async exists(desc: Descriptor, opts: Signal = {}): Promise<boolean> {
    return this.op(`check ${desc.digest}`, opts, (signal) =>
      isManifestMediaType(desc.mediaType) ? manifestExists(this.ctx, desc, signal) : blobExists(this.ctx, desc, signal),
    );
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    if (!isManifestMediaType(desc.mediaType)) return fetchBlob(this.ctx, desc, opts);
    const { bytes } = await this.op(`fetch manifest ${desc.digest}`, opts, (signal) => getManifest(this.ctx, desc.digest, signal)); // digest checked there
    if (bytes.length !== desc.size) throw new SizeMismatchError(desc.size, bytes.length, `manifest ${desc.digest} from ${this.name}`);
    return Readable.from([bytes]);
  }

  async push(desc: Descriptor, content: Readable | Uint8Array, opts: Signal = {}): Promise<void> {
    if (isManifestMediaType(desc.mediaType)) {
      const bytes =
        content instanceof Uint8Array
          ? Buffer.from(content.buffer, content.byteOffset, content.byteLength)
          : await readAllLimited(toReadable(content), MAX_MANIFEST_BYTES, `manifest ${desc.digest}`);
      await this.pushManifest(desc, bytes, opts);
      return;
    }
    await this.op(`push blob ${desc.digest}`, opts, (signal) => uploadBlob(this.ctx, desc, content, this.uploadPolicy, signal));
  }

  /**
   * PUT a manifest, under `opts.tag` when given (one request: oras-go's
   * PushReference). A manifest with a `subject` is also recorded in the
   * subject's referrers tag index when the registry does not index it itself.
   */
  async pushManifest(desc: Descriptor, bytes: Uint8Array, opts: PushManifestOptions = {}): Promise<void> {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (opts.tag !== undefined && !isValidTag(opts.tag)) throw new InvalidReferenceError(`invalid tag "${opts.tag}"`);
    await this.op(`push manifest ${desc.digest}`, opts, async (signal) => {
      const result = await putManifest(this.ctx, desc, buf, opts.tag ?? desc.digest, signal);
      if (result.subject !== undefined) {
        // The registry indexed the subject itself: it has the referrers API.
        this.client.features.referrersApi = "supported";
        return;
      }
      const links = manifestLinks(buf);
      if (links?.subject) await addToReferrersIndex(this.ctx, links.subject, this.indexEntry(referrerDescriptor(desc, links)), signal);
    });
  }

  /**
   * List `referrer` in `subject`'s fallback index (the `<alg>-<hex>` tag) when
   * its manifest cannot name the subject itself — a registry that refuses
   * `subject` — keeping every entry already there. Readers that trust a
   * listing only as far as the referrer's own content binds it to the subject
   * (a signature over the subject's digest) can find it there.
   */
  async listReferrer(subject: Descriptor, referrer: Descriptor, opts: Signal = {}): Promise<void> {
    await this.op(`list ${referrer.digest} as a referrer of ${subject.digest}`, opts, (signal) =>
      addToReferrersIndex(this.ctx, { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, this.indexEntry(referrer), signal),
    );
  }

  /** A fallback index entry: without `artifactType` (an OCI 1.1 descriptor field) for a registry known to refuse 1.1 fields. */
  private indexEntry(entry: Descriptor): Descriptor {
    if (this.client.features.imageSpec11 !== "unsupported" || entry.artifactType === undefined) return entry;
    const { artifactType: _dropped, ...plain } = entry;
    return plain;
  }

  /** Point tag at an existing manifest: fetch it by digest and PUT it under the tag. */
  async tag(desc: Descriptor, tag: string, opts: Signal = {}): Promise<void> {
    if (!isValidTag(tag)) throw new InvalidReferenceError(`invalid tag "${tag}"`);
    // The registry's own record (media type included) is what gets tagged, not the caller's copy of it.
    await this.op(`tag ${desc.digest} as ${tag}`, opts, async (signal) => {
      const { descriptor, bytes } = await getManifest(this.ctx, desc.digest, signal);
      await putManifest(this.ctx, descriptor, bytes, tag, signal);
    });
  }

  async mount(desc: Descriptor, fromRepository: string, opts: Signal = {}): Promise<boolean> {
    if (!isValidRepository(fromRepository)) throw new InvalidReferenceError(`invalid repository name "${fromRepository}"`);
    return this.op(`mount blob ${desc.digest}`, opts, (signal) => mountBlob(this.ctx, desc, fromRepository, signal));
  }

  async *tags(opts: { last?: string; pageSize?: number; signal?: AbortSignal } = {}): AsyncIterable<string> {
    const op = this.client.startOperation(`list the tags of ${this.name}`, opts.signal);
    try {
      yield* listTags(this.ctx, { ...opts, ...(op.signal ? { signal: op.signal } : {}) });
    } finally {
      op.end();
    }
  }

  async predecessors(desc: Descriptor, opts: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Descriptor[]> {
    return this.op(`list the referrers of ${desc.digest}`, opts, (signal) =>
      listReferrers(this.ctx, desc, { ...opts, ...(signal ? { signal } : {}) }),
    );
  }

  async delete(desc: Descriptor, opts: Signal = {}): Promise<void> {
    await this.op(`delete ${desc.digest}`, opts, (signal) =>
      isManifestMediaType(desc.mediaType) ? deleteManifest(this.ctx, desc, signal) : deleteBlob(this.ctx, desc, signal),
    );
  }
}
