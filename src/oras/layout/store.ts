/**
 * An OCI image layout directory (image-spec image-layout.md) as a Target:
 * `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
 *
 * Blobs: streamed into `ingest/` (same filesystem), hashed on the way, fsynced,
 * and renamed under their digest only when digest and size match.
 *
 * index.json: tags are `org.opencontainers.image.ref.name` annotations, one
 * entry per name. Pushed manifests are recorded untagged too (as oras-go does),
 * so content pushed by digest and referrers stay visible and count as roots
 * for garbage collection; an untagged entry goes once a tag names the digest or
 * a recorded index lists it (it is then reachable through that index). Moving
 * a tag does not re-record the manifest it left: that one becomes garbage
 * unless something else names it.
 *
 * Index writes are group commits: every change is applied in memory at once
 * (O(1) lookups through IndexModel) and queued; one writer takes the lock file,
 * re-reads index.json if another process changed it, replays the queued
 * changes onto it and replaces the file atomically. tag() and manifest pushes
 * return once their change is durable, and all calls made meanwhile share one
 * write. Inside batch(), they return at once and batch() writes once at the end.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, opendir, rename, rm, stat } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { addAbortSignal, pipeline, type Readable } from "node:stream";
import { pipeline as pipelineAsync } from "node:stream/promises";
import { isIndexMediaType, isManifestMediaType, type Descriptor } from "../descriptor.js";
import { digestOf, parseDigest } from "../digest.js";
import { InvalidContentError, NotFoundError, SizeMismatchError, UnsupportedError } from "../errors.js";
import type { Deleter, FetchOptions, PredecessorFinder, ReferencePusher, TagLister, Target } from "../target.js";
import { checkDescriptorSize, toReadable, verifyBytes, verifyingStream } from "../verify.js";
import { createFileExclusive, errnoCode, fsyncDir, ioError, readFileBounded, writeFileAtomic } from "../fs.js";
import { isJsonObject } from "../json.js";
import { manifestLinks, MAX_INDEX_BYTES, MAX_MANIFEST_BYTES, referrerDescriptor, type ManifestLinks } from "../manifest.js";
import { IndexModel, isSupportedDigest, validateRefName, type IndexChange } from "./index-file.js";
import { FileLock, type LockOptions } from "./lock.js";

export const LAYOUT_VERSION = "1.0.0";
const MAX_OCI_LAYOUT_BYTES = 64 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;

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

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class OciLayout implements Target, TagLister, Deleter, PredecessorFinder, ReferencePusher {
  /** `oci:PATH` as given, for messages. */
  readonly name: string;
  /** Absolute path of the layout directory. */
  readonly root: string;

  private model = IndexModel.empty();
  /** Identity of index.json as this process last read or wrote it; undefined forces a re-read. */
  private syncedStamp: string | undefined;
  /** The in-memory model differs from the file as of syncedStamp. */
  private dirty = false;
  /** Changes applied in memory and not yet known to be in the file. */
  private pending: IndexChange[] = [];
  private waiters: Waiter[] = [];
  private committing: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private batchDepth = 0;
  /** Blob directories that received renames since the last index write. */
  private readonly unsyncedDirs = new Set<string>();
  private readonly madeDirs = new Set<string>();
  /** subject digest -> referrers; built on first predecessors() call. */
  private referrers: Map<string, Descriptor[]> | undefined;

  private constructor(
    displayPath: string,
    private readonly lockOptions: LockOptions,
  ) {
    this.name = `oci:${displayPath}`;
    this.root = resolvePath(displayPath);
  }

  /** Open the layout at `path`; NotFoundError when it is missing and `create` is not set. */
  static async open(path: string, opts: OpenLayoutOptions = {}): Promise<OciLayout> {
    const layout = new OciLayout(path, opts.lock ?? {});
    await layout.init(opts.create === true, path);
    return layout;
  }

  private get indexPath(): string {
    return `${this.root}/index.json`;
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
    if (create) {
      await mkdir(`${this.root}/blobs`, { recursive: true }).catch((e: unknown) => {
        throw ioError(e, "create", `${this.root}/blobs`);
      });
      if ((await this.stampOf()) === "missing") {
        // link() never replaces: a concurrent creator's (or writer's) index.json wins.
        await createFileExclusive(this.indexPath, IndexModel.empty().serialize()).catch((e: unknown) => {
          throw ioError(e, "create", this.indexPath);
        });
      }
    }
    await this.refresh();
  }

  // ---- blobs ----

  private blobPath(digest: string): { dir: string; file: string } {
    const { algorithm, hex } = parseDigest(digest);
    const dir = `${this.root}/blobs/${algorithm}`;
    return { dir, file: `${dir}/${hex}` };
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const { file } = this.blobPath(desc.digest);
    try {
      // A file of the wrong size is damaged; saying "absent" makes a copy replace it.
      return (await stat(file)).size === desc.size;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw ioError(err, "check", file);
    }
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    const { file } = this.blobPath(desc.digest);
    const what = `blob ${desc.digest} in ${this.name}`;
    checkDescriptorSize(desc, what);
    let fh;
    try {
      fh = await open(file, "r");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFoundError(`${what} not found`);
      throw ioError(err, "open", file);
    }
    const size = await fh.stat().then(
      (st) => st.size,
      async (err: unknown) => {
        await fh.close();
        throw ioError(err, "read", file);
      },
    );
    if (size !== desc.size) {
      await fh.close();
      throw new SizeMismatchError(desc.size, size, what, { hint: `the file ${file} is damaged; copy the content again` });
    }
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

  async push(desc: Descriptor, content: Readable | Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.storeBlob(desc, content, opts.signal);
    if (isManifestMediaType(desc.mediaType)) await this.changeIndex(await this.recordManifest(desc));
  }

  /** Push a manifest and tag it with one index write. */
  async pushReference(desc: Descriptor, content: Readable | Uint8Array, reference: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      validateRefName(reference);
    } catch (err) {
      discard(content);
      throw err;
    }
    await this.storeBlob(desc, content, opts.signal);
    const changes = isManifestMediaType(desc.mediaType) ? await this.recordManifest(desc) : [];
    changes.push({ kind: "tag", name: reference, desc });
    await this.changeIndex(changes);
  }

  private async storeBlob(desc: Descriptor, content: Readable | Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const what = `blob ${desc.digest} for ${this.name}`;
    // The source may fail before it is piped (we stat first); pipeline() still sees the error, but an
    // 'error' event with no listener would crash the process meanwhile.
    if (!(content instanceof Uint8Array)) content.on("error", () => {});
    let paths;
    try {
      paths = this.blobPath(desc.digest);
      checkDescriptorSize(desc, what);
      if (await this.exists(desc)) {
        discard(content);
        return;
      }
    } catch (err) {
      discard(content);
      throw err;
    }
    if (content instanceof Uint8Array) {
      // Bytes in memory: check before touching the disk at all.
      verifyBytes(desc, content, what);
    }
    const ingest = `${this.root}/ingest`;
    await this.ensureDir(ingest);
    await this.ensureDir(paths.dir);
    const temp = `${ingest}/${paths.file.slice(paths.dir.length + 1)}.${process.pid}.${randomBytes(6).toString("hex")}`;
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

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true }).catch((err: unknown) => {
      throw ioError(err, "create", dir);
    });
    this.madeDirs.add(dir);
  }

  /** Read a stored manifest (bounded, verified) for its links; undefined when it is too big or unreadable. */
  private async readLinks(desc: Descriptor): Promise<ManifestLinks | undefined> {
    if (desc.size > MAX_MANIFEST_BYTES) return undefined;
    const { file } = this.blobPath(desc.digest);
    let bytes: Buffer;
    try {
      bytes = await readFileBounded(file, desc.size);
    } catch {
      return undefined;
    }
    if (bytes.length !== desc.size || digestOf(bytes, parseDigest(desc.digest).algorithm) !== desc.digest) return undefined;
    return manifestLinks(bytes);
  }

  private async recordManifest(desc: Descriptor): Promise<IndexChange[]> {
    const changes: IndexChange[] = [{ kind: "record", desc }];
    const links = await this.readLinks(desc);
    if (!links) return changes;
    if (isIndexMediaType(desc.mediaType) && links.children.length > 0) changes.push({ kind: "unrecord", digests: links.children });
    if (links.subject && this.referrers) addReferrer(this.referrers, links.subject.digest, referrerDescriptor(desc, links));
    return changes;
  }

  // ---- names ----

  async resolve(reference: string): Promise<Descriptor> {
    await this.refresh();
    if (isSupportedDigest(reference)) {
      const known = this.model.byDigest(reference);
      if (known) return known;
      return this.describeStoredManifest(reference);
    }
    validateRefName(reference);
    const desc = this.model.tagged(reference);
    if (!desc) throw new NotFoundError(`tag "${reference}" not found in ${this.name}`);
    return desc;
  }

  /** A digest that names a stored manifest but no index entry: its media type comes from the JSON. */
  private async describeStoredManifest(digest: string): Promise<Descriptor> {
    const { file } = this.blobPath(digest);
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
    if (!this.model.hasDigest(desc.digest) && !(await this.exists(desc))) {
      throw new NotFoundError(`cannot tag "${tag}": ${desc.digest} is not stored in ${this.name}`, { hint: "push the manifest first" });
    }
    await this.changeIndex([{ kind: "tag", name: tag, desc }]);
  }

  /** Remove a tag; the manifest stays until deleted or collected. */
  async untag(tag: string): Promise<void> {
    validateRefName(tag);
    await this.refresh();
    if (!this.model.tagged(tag)) throw new NotFoundError(`tag "${tag}" not found in ${this.name}`);
    await this.changeIndex([{ kind: "untag", name: tag }]);
  }

  async *tags(opts: { last?: string; pageSize?: number; signal?: AbortSignal } = {}): AsyncIterable<string> {
    await this.refresh();
    const names = this.model.tagNames().sort();
    for (const name of names) {
      opts.signal?.throwIfAborted();
      if (opts.last === undefined || name > opts.last) yield name;
    }
  }

  /** Tagged entries of index.json, in file order. */
  async listReferences(): Promise<LayoutReferenceEntry[]> {
    await this.refresh();
    return this.model.list().flatMap((e) => (e.name === undefined ? [] : [{ name: e.name, descriptor: e.descriptor }]));
  }

  /** Every index.json entry, tagged or not, one per digest: the roots a garbage collector keeps. */
  async roots(): Promise<Descriptor[]> {
    await this.refresh();
    const seen = new Set<string>();
    const out: Descriptor[] = [];
    for (const { descriptor } of this.model.list()) {
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      out.push(descriptor);
    }
    return out;
  }

  /** Digests of every blob file present (any content, referenced or not); names that are not digests are skipped. */
  async *blobs(): AsyncIterable<string> {
    const base = `${this.root}/blobs`;
    for (const algorithm of ["sha256", "sha512"]) {
      let dir;
      try {
        dir = await opendir(`${base}/${algorithm}`);
      } catch (err) {
        if (errnoCode(err) === "ENOENT") continue;
        throw ioError(err, "list", `${base}/${algorithm}`);
      }
      for await (const entry of dir) {
        const digest = `${algorithm}:${entry.name}`;
        if (entry.isFile() && isSupportedDigest(digest)) yield digest;
      }
    }
  }

  /** Remove every index entry for desc.digest (durably, even inside a batch) and then its blob. */
  async delete(desc: Descriptor): Promise<void> {
    const { file } = this.blobPath(desc.digest);
    await this.refresh();
    const inIndex = this.model.hasDigest(desc.digest);
    if (inIndex) {
      this.queue([{ kind: "forget", digest: desc.digest }]);
      // The index must stop naming the blob before the blob goes.
      await this.flush();
    }
    try {
      await rm(file);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw ioError(err, "delete", file);
      if (!inIndex) throw new NotFoundError(`${desc.digest} not found in ${this.name}`);
    }
    if (this.referrers) {
      this.referrers.delete(desc.digest);
      for (const [subject, list] of this.referrers) {
        const kept = list.filter((d) => d.digest !== desc.digest);
        if (kept.length !== list.length) this.referrers.set(subject, kept);
      }
    }
  }

  async predecessors(desc: Descriptor, opts: { artifactType?: string; signal?: AbortSignal } = {}): Promise<Descriptor[]> {
    await this.refresh();
    if (!this.referrers) {
      const map = new Map<string, Descriptor[]>();
      for (const root of this.model.list()) {
        opts.signal?.throwIfAborted();
        if (!isManifestMediaType(root.descriptor.mediaType)) continue;
        const links = await this.readLinks(root.descriptor);
        if (links?.subject) addReferrer(map, links.subject.digest, referrerDescriptor(root.descriptor, links));
      }
      this.referrers = map;
    }
    const found = this.referrers.get(desc.digest) ?? [];
    return found.filter((d) => opts.artifactType === undefined || d.artifactType === opts.artifactType).map((d) => ({ ...d }));
  }

  // ---- index.json: group commit ----

  /**
   * Run `fn` with index writes deferred: tag() and manifest pushes inside it
   * return as soon as the change is in memory, and batch() writes index.json
   * once at the end (also when fn throws, since what it tagged is complete).
   * Deferral applies to this instance while any batch is open.
   */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    this.batchDepth++;
    let result: T;
    try {
      result = await fn();
    } finally {
      this.batchDepth--;
      if (this.batchDepth === 0) await this.flush();
    }
    return result;
  }

  /** Make every change made so far durable (blob renames, then index.json). */
  flush(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.startCommits();
    });
  }

  private queue(changes: IndexChange[]): void {
    for (const change of changes) {
      if (this.model.apply(change)) this.dirty = true;
      // Queued even when it changed nothing here: another process may have changed the file meanwhile.
      this.pending.push(change);
    }
    if (this.referrers && changes.some((c) => c.kind === "forget")) this.referrers = undefined;
  }

  private async changeIndex(changes: IndexChange[]): Promise<void> {
    this.queue(changes);
    if (this.batchDepth === 0) await this.flush();
  }

  private startCommits(): void {
    if (this.committing) return;
    this.committing = (async () => {
      // Let callers in the same turn of the event loop join this write.
      await new Promise((r) => setImmediate(r));
      while (this.waiters.length > 0) {
        const waiters = this.waiters.splice(0);
        try {
          await this.commit();
          for (const w of waiters) w.resolve();
        } catch (err) {
          for (const w of waiters) w.reject(err);
        }
      }
      this.committing = undefined;
    })();
  }

  private async commit(): Promise<void> {
    if (this.refreshing) await this.refreshing;
    const changes = this.pending.splice(0);
    try {
      // An index entry must never outlive, in a crash, the rename of a blob it names.
      for (const dir of [...this.unsyncedDirs]) {
        this.unsyncedDirs.delete(dir);
        await fsyncDir(dir);
      }
      if (changes.length === 0) return;
      if (!this.dirty && (await this.stampOf()) === this.syncedStamp) return;
      const lock = await FileLock.acquire(`${this.indexPath}.lock`, this.lockOptions);
      try {
        let mustWrite = this.dirty;
        const stamp = await this.stampOf();
        if (stamp !== this.syncedStamp) {
          // Another process wrote since we last looked: our changes become a delta on its file.
          const fresh = await this.readIndex();
          mustWrite = false;
          for (const change of changes) mustWrite = fresh.apply(change) || mustWrite;
          for (const change of this.pending) mustWrite = fresh.apply(change) || mustWrite;
          this.replaceModel(fresh, stamp);
        }
        if (mustWrite) {
          const text = this.model.serialize();
          this.dirty = false;
          await writeFileAtomic(this.indexPath, text);
          this.syncedStamp = await this.stampOf();
        }
      } finally {
        await lock.release();
      }
    } catch (err) {
      // What is in memory may now differ from the file: re-read before the next use.
      this.syncedStamp = undefined;
      throw ioError(err, "update", this.indexPath);
    }
  }

  /** Re-read index.json if another process replaced it; cheap (one stat) when nothing changed. */
  private refresh(): Promise<void> {
    if (this.committing) return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        const stamp = await this.stampOf();
        if (stamp === this.syncedStamp) return;
        const fresh = await this.readIndex();
        for (const change of this.pending) fresh.apply(change);
        this.replaceModel(fresh, stamp);
        this.dirty = this.pending.length > 0;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private replaceModel(model: IndexModel, stamp: string): void {
    this.model = model;
    this.syncedStamp = stamp;
    this.referrers = undefined;
  }

  /** Identifies one version of index.json: every writer renames a new file into place. */
  private async stampOf(): Promise<string> {
    try {
      const st = await stat(this.indexPath, { bigint: true });
      return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return "missing";
      throw ioError(err, "read", this.indexPath);
    }
  }

  private async readIndex(): Promise<IndexModel> {
    let text: string;
    try {
      text = (await readFileBounded(this.indexPath, MAX_INDEX_BYTES)).toString("utf8");
    } catch (err) {
      // A layout without index.json yet (some writers add it last) has no entries.
      if (errnoCode(err) === "ENOENT") return IndexModel.empty();
      throw ioError(err, "read", this.indexPath);
    }
    return IndexModel.parse(text, this.indexPath);
  }
}

function addReferrer(map: Map<string, Descriptor[]>, subject: string, referrer: Descriptor): void {
  const list = map.get(subject) ?? [];
  if (!list.some((d) => d.digest === referrer.digest)) list.push(referrer);
  map.set(subject, list);
}

/** Content we do not need: a stream is destroyed so its source stops sending. */
function discard(content: Readable | Uint8Array): void {
  if (!(content instanceof Uint8Array)) content.destroy();
}

function checkLayoutMarker(text: string, file: string): void {
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
