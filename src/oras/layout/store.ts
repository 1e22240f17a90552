/**
 * An OCI image layout directory (image-spec image-layout.md) as a Target:
 * `oci-layout`, `index.json`, `blobs/<alg>/<hex>`. OciLayout resolves names
 * and assembles three parts with one job each: the blob store (blob-store.ts),
 * the group commit of index.json (index-commit.ts) and the referrers view
 * (../predecessors.ts); garbage collection and verification (gc.ts,
 * verify-layout.ts) work on the same parts.
 *
 * index.json: tags are `org.opencontainers.image.ref.name` annotations, one
 * entry per name. Pushed manifests are recorded untagged too (as oras-go does),
 * so content pushed by digest and referrers stay visible and count as roots
 * for garbage collection; an untagged entry goes once a tag names the digest or
 * a recorded index lists it (it is then reachable through that index). Moving
 * a tag does not re-record the manifest it left: that one becomes garbage
 * unless something else names it.
 *
 * tag() and manifest pushes return once their index change is durable, and
 * all calls made meanwhile share one write. Inside batch(), they return at
 * once and batch() writes once at the end.
 */
import { mkdir, stat } from "../fs-calls.js";
import { resolve as resolvePath } from "node:path";
import type { Readable } from "node:stream";
import { isIndexMediaType, isManifestMediaType, type Descriptor } from "../descriptor.js";
import { InvalidContentError, NotFoundError, UnsupportedError } from "../errors.js";
import { createFileExclusive, errnoCode, ioError, readFileBounded } from "../fs.js";
import { isDigest } from "../digest.js";
import { isJsonObject } from "../json.js";
import { PredecessorGraph } from "../predecessors.js";
import type { Deleter, FetchOptions, PredecessorFinder, ReferencePusher, TagLister, Target } from "../target.js";
import { verifyBytes } from "../verify.js";
import { BlobStore, discard } from "./blob-store.js";
import { collectGarbage, type GcOptions, type GcResult } from "./gc.js";
import { IndexCommitter } from "./index-commit.js";
import { validateRefName, type IndexChange } from "./index-file.js";
import type { LockOptions } from "../lock.js";
import { manifestLinks, type ManifestLinks } from "../manifest.js";
import { MAX_MANIFEST_BYTES, MAX_OCI_LAYOUT_BYTES } from "../limits.js";
import { verifyLayout, type LayoutReport } from "./verify-layout.js";

export const LAYOUT_VERSION = "1.0.0";

export interface OpenLayoutOptions {
  /** Create the directory, `oci-layout` and an empty `index.json` when missing. */
  create?: boolean;
  /** How long to wait for, and when to break, the index.json lock. */
  lock?: LockOptions;
}

export interface LayoutReferenceEntry {
  name: string;
  descriptor: Descriptor;
}

export class OciLayout implements Target, TagLister, Deleter, PredecessorFinder, ReferencePusher {
  /** `oci:PATH` as given, for messages. */
  readonly name: string;
  /** Absolute path of the layout directory. */
  readonly root: string;

  private readonly blobStore: BlobStore;
  private readonly index: IndexCommitter;
  /** Built on the first predecessors() call; dropped whenever the index is re-read or loses entries. */
  private referrers: PredecessorGraph | undefined;

  private constructor(displayPath: string, lockOptions: LockOptions) {
    this.name = `oci:${displayPath}`;
    this.root = resolvePath(displayPath);
    this.blobStore = new BlobStore(this.root, this.name);
    this.index = new IndexCommitter(`${this.root}/index.json`, lockOptions, {
      beforeWrite: () => this.blobStore.syncRenames(),
      onReload: () => (this.referrers = undefined),
    });
  }

  /** Open the layout at `path`; NotFoundError when it is missing and `create` is not set. */
  static async open(path: string, opts: OpenLayoutOptions = {}): Promise<OciLayout> {
    const layout = new OciLayout(path, opts.lock ?? {});
    await layout.init(opts.create === true, path);
    return layout;
  }

  private async init(create: boolean, displayPath: string): Promise<void> {
    try {
      const st = await stat(this.root);
      if (!st.isDirectory()) throw new InvalidContentError(`${displayPath} is not a directory, so not an OCI image layout`);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw ioError(err, "open the layout", displayPath);
      if (!create) {
        throw new NotFoundError(`no OCI image layout at ${displayPath}`, { hint: "check the path; copying into a new path creates the layout" });
      }
      await mkdir(this.root, { recursive: true }).catch((e: unknown) => {
        throw ioError(e, "create the layout directory", displayPath);
      });
    }
    const markerPath = `${this.root}/oci-layout`;
    let marker: string;
    try {
      marker = (await readFileBounded(markerPath, MAX_OCI_LAYOUT_BYTES)).toString("utf8");
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" || !create) {
        if (errnoCode(err) === "ENOENT") {
          throw new InvalidContentError(`${displayPath} is not an OCI image layout: it has no oci-layout file`, {
            hint: "point at the directory that holds oci-layout, index.json and blobs/",
          });
        }
        throw ioError(err, "read", markerPath);
      }
      marker = JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION });
      await createFileExclusive(markerPath, marker).catch((e: unknown) => {
        throw ioError(e, "create", markerPath);
      });
    }
    checkLayoutMarker(marker, markerPath);
    await this.blobStore.checkDirectories();
    if (create) {
      await this.blobStore.create();
      await this.index.createIfMissing();
    }
    await this.index.refresh();
  }

  // ---- blobs ----

  exists(desc: Descriptor): Promise<boolean> {
    return this.blobStore.exists(desc);
  }

  fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    return this.blobStore.fetch(desc, opts);
  }

  /** The whole blob, unverified: for fetchAll(), which verifies it (BytesStorage). */
  fetchBytes(desc: Descriptor, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    return this.blobStore.fetchBytes(desc, opts);
  }

  async push(desc: Descriptor, content: Readable | Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.blobStore.ingest(desc, content, opts.signal);
    if (isManifestMediaType(desc.mediaType)) await this.index.change(await this.recordManifest(desc));
  }

  /** Push a manifest and tag it with one index write. */
  async pushReference(desc: Descriptor, content: Readable | Uint8Array, reference: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      validateRefName(reference);
    } catch (err) {
      discard(content);
      throw err;
    }
    await this.blobStore.ingest(desc, content, opts.signal);
    const changes = isManifestMediaType(desc.mediaType) ? await this.recordManifest(desc) : [];
    changes.push({ kind: "tag", name: reference, desc });
    await this.index.change(changes);
  }

  /** Read a stored manifest (bounded, verified) for its links; undefined when it is too big or unreadable. */
  private async readLinks(desc: Descriptor): Promise<ManifestLinks | undefined> {
    const bytes = await this.blobStore.readVerified(desc, MAX_MANIFEST_BYTES);
    return bytes === undefined ? undefined : manifestLinks(bytes);
  }

  private async recordManifest(desc: Descriptor): Promise<IndexChange[]> {
    const changes: IndexChange[] = [{ kind: "record", desc }];
    const links = await this.readLinks(desc);
    if (!links) return changes;
    if (isIndexMediaType(desc.mediaType) && links.children.length > 0) changes.push({ kind: "unrecord", digests: links.children });
    this.referrers?.addManifest(desc, links);
    return changes;
  }

  // ---- names ----

  async resolve(reference: string): Promise<Descriptor> {
    await this.index.refresh();
    if (isDigest(reference)) {
      const known = this.index.model.byDigest(reference);
      if (known) return known;
      return this.describeStoredManifest(reference);
    }
    validateRefName(reference);
    const desc = this.index.model.tagged(reference);
    if (!desc) throw new NotFoundError(`tag "${reference}" not found in ${this.name}`);
    return desc;
  }

  /** A digest that names a stored manifest but no index entry: its media type comes from the JSON. */
  private async describeStoredManifest(digest: string): Promise<Descriptor> {
    const { file } = this.blobStore.pathOf(digest);
    const what = `manifest ${digest} in ${this.name}`;
    let bytes: Buffer;
    try {
      bytes = await readFileBounded(file, MAX_MANIFEST_BYTES, what);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFoundError(`${what} not found`);
      throw ioError(err, "read", file);
    }
    const desc = { mediaType: "", digest, size: bytes.length };
    verifyBytes(desc, bytes, what);
    const mediaType = manifestLinks(bytes)?.mediaType;
    if (mediaType === undefined || !isManifestMediaType(mediaType)) {
      // It exists and matches its digest: the content, not the name, is what is wrong.
      throw new InvalidContentError(`${digest} in ${this.name} is not a manifest`, { hint: "resolve names manifests; fetch blobs by descriptor" });
    }
    return { ...desc, mediaType };
  }

  async tag(desc: Descriptor, tag: string): Promise<void> {
    validateRefName(tag);
    // A digest the index already names was stored when it was recorded; skip the stat.
    if (!this.index.model.hasDigest(desc.digest) && !(await this.exists(desc))) {
      throw new NotFoundError(`cannot tag "${tag}": ${desc.digest} is not stored in ${this.name}`, { hint: "push the manifest first" });
    }
    await this.index.change([{ kind: "tag", name: tag, desc }]);
  }

  /** Remove a tag; the manifest stays until deleted or collected. */
  async untag(tag: string): Promise<void> {
    validateRefName(tag);
    await this.index.refresh();
    if (!this.index.model.tagged(tag)) throw new NotFoundError(`tag "${tag}" not found in ${this.name}`);
    // The referrers view was built from the entries: one of them goes.
    this.referrers = undefined;
    await this.index.change([{ kind: "untag", name: tag }]);
  }

  /**
   * Drop the untagged entries of these digests (manifests pushed without a
   * tag); tags stay, and so do the blobs until deleted or collected.
   */
  async unrecord(digests: readonly string[]): Promise<void> {
    if (digests.length === 0) return;
    await this.index.refresh();
    this.referrers = undefined;
    await this.index.change([{ kind: "unrecord", digests: [...digests] }]);
  }

  /** Every index.json entry in file order, tagged (with its name) or not. */
  async entries(): Promise<Array<{ name?: string; descriptor: Descriptor }>> {
    await this.index.refresh();
    return this.index.model.list();
  }

  async *tags(opts: { last?: string; pageSize?: number; signal?: AbortSignal } = {}): AsyncIterable<string> {
    await this.index.refresh();
    const names = this.index.model.tagNames().sort();
    for (const name of names) {
      opts.signal?.throwIfAborted();
      if (opts.last === undefined || name > opts.last) yield name;
    }
  }

  /** Tagged entries of index.json, in file order. */
  async listReferences(): Promise<LayoutReferenceEntry[]> {
    await this.index.refresh();
    return this.index.model.list().flatMap((e) => (e.name === undefined ? [] : [{ name: e.name, descriptor: e.descriptor }]));
  }

  /** Every index.json entry, tagged or not, one per digest: the roots a garbage collector keeps. */
  async roots(): Promise<Descriptor[]> {
    await this.index.refresh();
    const seen = new Set<string>();
    const out: Descriptor[] = [];
    for (const { descriptor } of this.index.model.list()) {
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      out.push(descriptor);
    }
    return out;
  }

  /** Digests of every blob file present (any content, referenced or not); names that are not digests are skipped. */
  blobs(): AsyncIterable<string> {
    return this.blobStore.list();
  }

  /** Remove every index entry for desc.digest (durably, even inside a batch) and then its blob. */
  async delete(desc: Descriptor): Promise<void> {
    this.blobStore.pathOf(desc.digest); // a digest that does not parse fails before anything changes
    await this.index.refresh();
    const inIndex = this.index.model.hasDigest(desc.digest);
    if (inIndex) {
      this.index.queue([{ kind: "forget", digest: desc.digest }]);
      // Entries went: what the referrers view was built from is gone with them.
      this.referrers = undefined;
      // The index must stop naming the blob before the blob goes.
      await this.index.flush();
    }
    const removed = await this.blobStore.remove(desc.digest);
    if (removed === undefined && !inIndex) throw new NotFoundError(`${desc.digest} not found in ${this.name}`);
    this.referrers?.forgetSubject(desc.digest);
    this.referrers?.removeReferrer(desc.digest);
  }

  async predecessors(desc: Descriptor, opts: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Descriptor[]> {
    await this.index.refresh();
    if (!this.referrers) {
      const manifests = this.index.model
        .list()
        .map((e) => e.descriptor)
        .filter((d) => isManifestMediaType(d.mediaType));
      this.referrers = await PredecessorGraph.build(manifests, (d) => this.readLinks(d), opts.signal);
    }
    return this.referrers.predecessors(desc.digest, opts.artifactType);
  }

  // ---- index.json ----

  /**
   * Run `fn` with index writes deferred: tag() and manifest pushes inside it
   * return as soon as the change is in memory, and batch() writes index.json
   * once at the end (also when fn throws, since what it tagged is complete).
   * Deferral applies to this instance while any batch is open.
   */
  batch<T>(fn: () => Promise<T>): Promise<T> {
    return this.index.batch(fn);
  }

  /** Make every change made so far durable (blob renames, then index.json). */
  flush(): Promise<void> {
    return this.index.flush();
  }

  // ---- maintenance ----

  /**
   * Delete every blob no index.json entry reaches, and temp files a crashed
   * writer left; see gc.ts for what excludes concurrent writers (the caller's lock).
   */
  collectGarbage(opts: GcOptions = {}): Promise<GcResult> {
    return collectGarbage({ root: this.root, blobs: this.blobStore, roots: () => this.roots() }, { ...opts, name: opts.name ?? this.name });
  }

  /** Re-hash every blob and check that everything index.json names, and every manifest's children, is there; changes nothing. */
  async verify(opts: { signal?: AbortSignal } = {}): Promise<LayoutReport> {
    await this.index.refresh();
    return verifyLayout(this.blobStore, this.index.model.list(), opts);
  }
}

/** Throws unless `text` (the `oci-layout` file `file` names) declares a 1.x image layout. */
export function checkLayoutMarker(text: string, file: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidContentError(`${file} is not valid JSON`, { cause: err });
  }
  const version = isJsonObject(value) ? value.imageLayoutVersion : undefined;
  if (typeof version !== "string") throw new InvalidContentError(`${file} has no imageLayoutVersion string`);
  if (!/^1\.\d+\.\d+$/.test(version)) {
    throw new UnsupportedError(`${file} declares image layout version ${version}; only 1.x layouts are supported`);
  }
}
