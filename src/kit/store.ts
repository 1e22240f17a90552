/**
 * The local kit store: an OCI image layout (readable by skopeo and oras-go)
 * at $KIT_STORE, default ~/.aegis/kits/store. Every pulled or pushed kit is
 * recorded under its full registry reference as the ref name of an index.json
 * entry; that entry's descriptor also carries the kit's name, version and
 * pinned image, for other tools. Listing and matching trust neither those
 * nor the manifest's annotations (an entry `kit copy` or skopeo wrote says
 * what its source said): they read the record made when the kit was
 * validated (store-validated.ts), validating entries that have none first.
 *
 * Concurrency: add(), remove(), gc() and verify() exclude each other
 * through a lock file in the store (kit-store.lock). Without it, gc could
 * delete a blob an add had just written, or found present and skipped,
 * before the add's index entry lands, verify could report a blob an add is
 * writing as missing, and remove could decide an image is pinned by no kit
 * while a load records one that pins it. Reads verify every byte, so they
 * need no lock.
 *
 * This module avoids loading zod/YAML until a kit is actually read (or an
 * entry without a validation record is listed), so `kit ls`, `kit rm`,
 * `kit gc` and `kit store verify` start fast.
 */
import { homedir } from "node:os";
import path from "node:path";
import { type DescribedBytes, type Descriptor, fetchAll, fsCalls, InvalidContentError, isJsonObject, MAX_MANIFEST_BYTES, MediaType, NotFoundError, parseDigest, parseReference, type RegistryReference, repositoryName, UsageError } from "../oras/content.js";
import { FileLock, type GcResult, type LayoutReport, type LockOptions, OciLayout, validateRefName } from "../oras/layout/index.js";
import type { KitConfig } from "./artifact.js";
import { Annotation, KIT_ARTIFACT_TYPE } from "./format.js";
import type { KitContent } from "./read-kit.js";
import { formatKitReference, toKitReference, type KitReference } from "./reference.js";
import { recordedReference, referenceMatcher } from "./store-reference.js";
import { type ValidatedKit, validatedKitOf, ValidatedKits } from "./store-validated.js";
import { isSignatureTag } from "./signature/format.js";
import { type DependentEntry, dependentsOf } from "./store-dependents.js";

const { readdir } = fsCalls;

export { isShortKitReference, parseShortKitReference, type ShortKitReference } from "./reference.js";
export type { GcResult } from "../oras/layout/index.js";
export type { DependentEntry } from "./store-dependents.js";

export const KIT_STORE_ENV = "KIT_STORE";

const STORE_LOCK_FILE = "kit-store.lock";
// A gc of a big store may hold the lock a while; a holder that died on this host is detected at once anyway.
const STORE_LOCK: LockOptions = { timeoutMs: 120_000, staleMs: 10 * 60_000 };
/** The one hint for "not in the local store", wherever it is said (pull, inspect, show, diff, rm). */
const NOT_IN_STORE_HINT = 'pull it by its registry reference first ("kit pull REGISTRY/REPO@sha256:…"); "kit ls" lists what the store holds';

/** $KIT_STORE, else ~/.aegis/kits/store. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[KIT_STORE_ENV];
  return configured !== undefined && configured !== "" ? configured : path.join(homedir(), ".aegis/kits/store");
}

export interface StoreEntry {
  /** The full reference the kit is recorded under: `REGISTRY/REPO:TAG` or `REGISTRY/REPO@sha256:…`. */
  reference: string;
  /** Manifest digest. */
  digest: string;
  name: string;
  version: string;
  /** The pinned image; absent when the kit is unpinned. */
  image?: string;
}

/** What removeKits() removed: the kit entries named, and the entries recorded for them. */
export interface RemoveResult {
  kits: StoreEntry[];
  dependents: DependentEntry[];
}

export interface StoredKit {
  descriptor: Descriptor;
  manifest: Buffer;
  config: Buffer;
  kitYaml: Buffer;
  readme: Buffer;
  kit: KitConfig;
  /** The same, with each blob's descriptor: what pull records and returns. */
  content: KitContent;
}

interface StoreBlobs {
  manifest: DescribedBytes;
  config: DescribedBytes;
  layers: readonly DescribedBytes[];
}

/** What KitStore.write() hands its callback. */
export interface StoreWriter {
  /** The store's layout: stream blobs and push manifests into it (every byte verified on the way in). */
  readonly layout: OciLayout;
  /** Record a kit, as KitStore.add() does. */
  addKit(blobs: StoreBlobs, kit: KitConfig, references: readonly (string | RegistryReference)[]): Promise<void>;
  /** Record an image whose content is stored (manifests pushed children first) under its full reference. */
  /** `kind`: "image" (a base image, default) or "attachment" (a signature, SBOM or referrer of what the store holds). */
  addImage(root: Descriptor, reference: string | RegistryReference, kind?: "image" | "attachment"): Promise<void>;
}

export class KitStore {
  private readonly validated: ValidatedKits;

  private constructor(
    readonly path: string,
    readonly layout: OciLayout,
    private readonly lockOptions: LockOptions,
  ) {
    this.validated = new ValidatedKits(layout.root);
  }

  /**
   * Open (by default creating) the store at `storePath`, default
   * defaultStorePath(). `lockTimeoutMs`: how long add() and gc() wait for
   * each other (default 2 minutes).
   */
  static async open(storePath: string = defaultStorePath(), opts: { create?: boolean; lockTimeoutMs?: number } = {}): Promise<KitStore> {
    const absolute = path.resolve(storePath);
    const layout = await OciLayout.open(absolute, { create: opts.create ?? true });
    return new KitStore(absolute, layout, opts.lockTimeoutMs === undefined ? STORE_LOCK : { ...STORE_LOCK, timeoutMs: opts.lockTimeoutMs });
  }

  /**
   * The store at `storePath` if there is one; undefined when nothing was ever
   * stored there (no directory, or an empty one: a store is created only
   * when a kit is recorded).
   */
  static async openIfExists(storePath: string = defaultStorePath()): Promise<KitStore | undefined> {
    try {
      return await KitStore.open(storePath, { create: false });
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      if (err instanceof InvalidContentError && (await isEmptyDirectory(storePath))) return undefined;
      throw err;
    }
  }

  /**
   * The store to look `reference` up in (an open one is returned as is).
   * Creates nothing: with no store yet, NotFoundError says the local store
   * is empty, as findOne() does for a store without entries.
   */
  static async openToFind(reference: string | KitReference, store: string | KitStore = defaultStorePath()): Promise<KitStore> {
    if (store instanceof KitStore) return store;
    // A reference that does not parse is a usage error whether or not there is a store.
    toKitReference(reference);
    const found = await KitStore.openIfExists(store);
    if (found === undefined) throw emptyStoreError(reference, path.resolve(store));
    return found;
  }

  /** Names the store in messages. */
  get where(): string {
    return `the local store ${this.path}`;
  }

  /**
   * Store an artifact whose blobs the caller has already verified and
   * checked, and record it under each reference. Blobs are written first and
   * the manifest last; the index entries land in one index.json write after
   * the blob renames are durable, so a crash never leaves an entry naming a
   * missing blob. Idempotent.
   */
  async add(blobs: StoreBlobs, kit: KitConfig, references: readonly (string | RegistryReference)[]): Promise<void> {
    const record = this.kitRecord(blobs, kit, references);
    await this.locked(() => this.layout.batch(() => record()));
  }

  /**
   * A series of writes under one hold of the store lock and one index.json
   * write (a bundle load): `fn` streams blobs into the layout, records kits
   * as add() does, and records images under their full references. An image
   * entry (annotation dev.aegis.kit.kind: image) is a root, so gc keeps all
   * it reaches, and list() leaves it out: it is a kit's base image, not a kit.
   */
  async write<T>(fn: (writer: StoreWriter) => Promise<T>): Promise<T> {
    const writer: StoreWriter = {
      layout: this.layout,
      addKit: (blobs, kit, references) => this.kitRecord(blobs, kit, references)(),
      addImage: async (root, reference, kind = "image") => {
        const name = recordedReference(reference, root.digest);
        validateRefName(name);
        const { mediaType, digest, size, artifactType } = root;
        await this.layout.tag({ mediaType, digest, size, ...(artifactType !== undefined ? { artifactType } : {}), annotations: { [Annotation.Kind]: kind } }, name);
      },
    };
    return this.locked(() => this.layout.batch(() => fn(writer)));
  }

  /** Checks what add() is given, then returns the writes that record it (to run under the lock, in a batch). */
  private kitRecord(blobs: StoreBlobs, kit: KitConfig, references: readonly (string | RegistryReference)[]): () => Promise<void> {
    const manifestDesc = blobs.manifest.descriptor;
    if (references.length === 0) throw new UsageError(`cannot record kit ${manifestDesc.digest} in ${this.where}: no reference given`);
    const names = [...new Set(references.map((r) => recordedReference(r, manifestDesc.digest)))];
    for (const name of names) validateRefName(name);
    const parts = [blobs.config, ...blobs.layers];
    checkBlobsGiven(blobs.manifest.bytes, parts, `kit ${manifestDesc.digest}`);
    const entry = entryDescriptor(manifestDesc, kit);
    return async () => {
      // The record and the blobs at once (each its own temp + fsync + rename: ~3 ms apiece here, one after another
      // most of a small pull's store time); the manifest only after all of them are in place.
      await Promise.all([
        this.validated.record(manifestDesc.digest, validatedKitOf(kit), { kit, config: blobs.config.bytes }),
        ...parts.map((blob) => this.layout.push(blob.descriptor, blob.bytes)),
      ]);
      await this.layout.push(entry, blobs.manifest.bytes);
      for (const name of names) await this.layout.tag(entry, name);
    };
  }

  /**
   * Read a kit by manifest digest, verifying every byte against its digest
   * and checking every artifact rule. The rules that are pure functions of
   * the config and kit.yaml (schema, agreement, pinning) stand checked when
   * this store recorded the kit as validated under the current rules, and
   * the config blob read is that kit's canonical JSON (read-kit.ts); else
   * they are checked again, and the kit is recorded for the next read.
   * NotFoundError when the kit is not stored, or a blob of it is missing
   * (the store is then incomplete).
   */
  async read(digest: string, opts: { allowUnpinned?: boolean } = {}): Promise<StoredKit> {
    parseDigest(digest);
    const where = `${digest} in ${this.where}`;
    let desc: Descriptor;
    try {
      desc = await this.layout.resolve(digest);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`kit ${digest} is not in ${this.where}`, { hint: NOT_IN_STORE_HINT });
      }
      throw err;
    }
    // Loaded only here (and zod and YAML only when the kit must be checked again): listing and matching pay for neither.
    const [{ readKitContent }, record] = await Promise.all([import("./read-kit.js"), this.validated.getRecord(digest)]);
    const incomplete = async (what: string, blob: Descriptor) =>
      new NotFoundError(`${this.where} is incomplete: the ${what} blob ${blob.digest} of kit ${digest} is missing`, {
        hint: await this.pullAgainHint(digest),
      });
    let manifest: Buffer;
    try {
      manifest = await fetchAll(this.layout, desc, { limit: MAX_MANIFEST_BYTES, what: `manifest ${digest} of kit ${where}` });
    } catch (err) {
      if (err instanceof NotFoundError) throw await incomplete("manifest", desc);
      throw err;
    }
    const content = await readKitContent(this.layout, desc, manifest, where, {
      allowUnpinned: opts.allowUnpinned ?? false,
      missing: incomplete,
      ...(record?.kit !== undefined ? { validated: record.kit } : {}),
    });
    if (content.kit !== record?.kit) {
      // Checked in full: recorded, so the next read need not. A store this process may not write to is read all the same.
      await this.validated.record(digest, validatedKitOf(content.kit), { kit: content.kit, config: content.config.bytes }).catch(() => {});
    }
    return {
      descriptor: content.descriptor,
      manifest,
      config: content.config.bytes,
      kitYaml: content.layers[0].bytes,
      readme: content.layers[1].bytes,
      kit: content.kit,
      content,
    };
  }

  /**
   * Every recorded kit reference, sorted by kit name, then reference. Name,
   * version and image come from the kit as validated (validatedKit()), never
   * from annotations; entries that are not valid kits are left out.
   */
  async list(): Promise<StoreEntry[]> {
    const entries: StoreEntry[] = [];
    const kits = new Map<string, ValidatedKit | undefined>();
    for (const { name, descriptor } of await this.layout.listReferences()) {
      // A kit's cosign signature (`REGISTRY/REPO:sha256-<hex>.sig`) is no kit: skipped without reading it.
      if (isSignatureTag(name)) continue;
      // Our entries carry the kit artifactType; another tool's (skopeo, kit copy) may have none. Base images and attachments are not kits.
      const candidate =
        (descriptor.annotations?.[Annotation.Kind] ?? "kit") === "kit" &&
        (descriptor.artifactType === undefined ? descriptor.mediaType === MediaType.ImageManifest : descriptor.artifactType === KIT_ARTIFACT_TYPE);
      if (!candidate) continue;
      if (!kits.has(descriptor.digest)) kits.set(descriptor.digest, await this.validatedKit(descriptor.digest));
      const kit = kits.get(descriptor.digest);
      if (kit === undefined) continue;
      entries.push({ reference: name, digest: descriptor.digest, ...kit });
    }
    return entries.sort((a, b) => compare(a.name, b.name) || compare(a.reference, b.reference));
  }

  /**
   * Entries `reference` names: a full registry reference (exactly; with a
   * digest, every entry of that repository with that digest; without tag or
   * digest, every entry of the repository) or a short one, NAME[:TAG][@DIGEST],
   * matched against the kit name, the tag of the entry's reference and its digest.
   */
  async find(reference: string | KitReference): Promise<StoreEntry[]> {
    const matches = referenceMatcher(reference);
    return (await this.list()).filter(matches);
  }

  /**
   * The one kit `reference` names (as find() matches it), for reading it:
   * pull and inspect of a short reference. NotFoundError naming the
   * references known for the kit's name when nothing matches; UsageError
   * when the matches are different kits (digests).
   */
  async findOne(reference: string | KitReference): Promise<StoreEntry> {
    const ref = toKitReference(reference);
    const text = formatKitReference(ref);
    const entries = await this.find(ref);
    const digests = new Set(entries.map((e) => e.digest));
    if (digests.size > 1) {
      const listed = entries.map((e) => `${e.reference} (${e.digest})`).join(", ");
      throw new UsageError(`kit ${text} is ambiguous in the local store: ${listed}`, { hint: "name it by digest: NAME@sha256:…" });
    }
    const entry = entries[0];
    if (entry !== undefined) return entry;
    if ((await this.list()).length === 0) throw emptyStoreError(ref, this.path);
    const name = ref.kind === "store" ? ref.name : text;
    const known = await this.knownReferencesFor(name);
    throw new NotFoundError(
      known.length > 0
        ? `kit ${text} is not in the local store; known references for "${name}": ${known.join(", ")}`
        : `kit ${text} is not in the local store, and no registry reference is known for "${name}"`,
      { hint: NOT_IN_STORE_HINT },
    );
  }

  /** The registry references recorded for a kit name (for "not found" messages). */
  async knownReferencesFor(name: string): Promise<string[]> {
    return (await this.list()).filter((e) => e.name === name).map((e) => e.reference);
  }

  /**
   * Drop the entries `reference` matches (as find()), and what only they
   * needed (removeKits()); blobs stay until gc(). The kit entries removed.
   */
  async remove(reference: string | KitReference): Promise<StoreEntry[]> {
    return (await this.removeKits(reference)).kits;
  }

  /**
   * Drop the kit entries `reference` matches (as find()) and, for each kit
   * whose last entry goes, the entries recorded for it (store-dependents.ts):
   * its base image when no kit left pins that digest, and what is attached
   * to the kit or the image (signatures, SBOMs, referrers), recursively.
   * Under the store lock, decided before anything changes, and written as
   * one index.json write. Blobs stay until gc().
   */
  async removeKits(reference: string | KitReference): Promise<RemoveResult> {
    return this.locked(async () => {
      const matched = await this.find(reference);
      if (matched.length === 0) {
        if ((await this.list()).length === 0) throw emptyStoreError(reference, this.path);
        const text = typeof reference === "string" ? reference : formatKitReference(reference);
        throw new NotFoundError(`no kit matching "${text}" in ${this.where}`, { hint: NOT_IN_STORE_HINT });
      }
      const dependents = await dependentsOf(this.layout, await this.layout.entries(), await this.list(), matched);
      const names = [...matched.map((e) => e.reference), ...dependents.flatMap((d) => (d.reference !== null ? [d.reference] : []))];
      await this.layout.batch(async () => {
        for (const name of names) {
          try {
            await this.layout.untag(name);
          } catch (err) {
            // Removed by someone else meanwhile: the outcome is the same.
            if (!(err instanceof NotFoundError)) throw err;
          }
        }
        await this.layout.unrecord(dependents.filter((d) => d.reference === null).map((d) => d.digest));
      });
      return { kits: matched, dependents };
    });
  }

  /** Delete every blob no index.json entry reaches, and stale temp files (OciLayout.collectGarbage). */
  gc(): Promise<GcResult> {
    return this.locked(async () => {
      const result = await this.layout.collectGarbage({ name: this.where });
      const stored = new Set<string>();
      for await (const digest of this.layout.blobs()) stored.add(digest);
      await this.validated.prune((digest) => stored.has(digest));
      return result;
    });
  }

  /** Re-hash every blob and check every entry's graph is complete (OciLayout.verify); changes nothing. */
  verify(): Promise<LayoutReport> {
    return this.locked(() => this.layout.verify());
  }

  /**
   * Run `fn`, which writes into `layout` (a kit's signatures), holding the
   * store lock, so a concurrent gc cannot remove a blob it wrote before the
   * entry naming it lands.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.locked(fn);
  }

  /** The other store writers are kept out while `fn` runs. */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const lock = await FileLock.acquire(this.lockPath, this.lockOptions);
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  private get lockPath(): string {
    return `${this.layout.root}/${STORE_LOCK_FILE}`;
  }

  /**
   * The kit stored under a manifest digest as validated: its record, else a
   * full read (every rule pull checks) whose result is then recorded;
   * undefined when it is not a valid kit, or cannot be read.
   */
  private async validatedKit(digest: string): Promise<ValidatedKit | undefined> {
    const known = await this.validated.get(digest);
    if (known) return known;
    // read() records what it validated; a store this process may not write to is listed all the same, validating again next time.
    try {
      return validatedKitOf((await this.read(digest, { allowUnpinned: true })).kit);
    } catch {
      return undefined;
    }
  }

  private async pullAgainHint(digest: string): Promise<string> {
    // Not list(): that reads (and so validates) kits, and this runs while one is being read.
    const entry = (await this.layout.listReferences()).find((e) => e.descriptor.digest === digest);
    const reference = entry?.name;
    let repo: string | undefined;
    try {
      if (reference !== undefined) repo = repositoryName(parseReference(reference));
    } catch {
      repo = undefined;
    }
    return `pull the kit again: kit pull ${repo ?? "REGISTRY/REPO"}@${digest}`;
  }
}

/** The one answer for a kit looked up in a store that holds no kit (or does not exist yet). */
function emptyStoreError(reference: string | KitReference, storePath: string): NotFoundError {
  const text = typeof reference === "string" ? reference : formatKitReference(reference);
  return new NotFoundError(`kit ${text} is not in the local store: the local store ${storePath} is empty`, { hint: NOT_IN_STORE_HINT });
}

/** The index entry of a kit: the manifest's descriptor plus what listing needs (a bundle's index.json has the same). */
export function entryDescriptor(manifest: Descriptor, kit: KitConfig): Descriptor {
  const annotations: Record<string, string> = { [Annotation.Title]: kit.name, [Annotation.Version]: kit.version };
  if (!kit.unpinned) annotations[Annotation.KitImage] = kit.image;
  return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, artifactType: KIT_ARTIFACT_TYPE, annotations };
}

/**
 * The manifest must reference exactly the blobs given: an entry naming a blob
 * that add() did not write would be a hole in the store.
 */
function checkBlobsGiven(manifest: Uint8Array, parts: readonly DescribedBytes[], what: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(manifest).toString("utf8"));
  } catch {
    throw new InvalidContentError(`${what}: the manifest is not valid JSON`);
  }
  const d = isJsonObject(doc) ? doc : {};
  const named = [d.config, ...(Array.isArray(d.layers) ? d.layers : [])].map((x) => (isJsonObject(x) ? x.digest : undefined));
  const given = new Set(parts.map((p) => p.descriptor.digest));
  for (const digest of named) {
    if (typeof digest !== "string" || !given.has(digest)) {
      throw new InvalidContentError(`${what}: the manifest references ${String(digest)}, which was not given to the store`);
    }
  }
}

async function isEmptyDirectory(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return false;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
