/**
 * Load's first read of a bundle: everything checked, nothing written. Every
 * blob is hashed against the name it is stored under; a name seen twice
 * must hold the same bytes (index.json and oci-layout compared, a blob
 * hashed again); index.json must parse, and under every entry every
 * manifest must parse and name only what the bundle holds, with the sizes
 * it claims; kits are checked as kit pull checks them.
 *
 * Memory stays bounded: kept are index.json, the manifests, the kits'
 * files and, until something names them, small blobs that came first (a
 * bundle kit save wrote names everything before it); all of it together at
 * most MAX_BUNDLE_KEPT_BYTES. Everything else is hashed and forgotten.
 */
import { Readable } from "node:stream";
import {
  createDigester,
  type Descriptor,
  DigestMismatchError,
  InvalidContentError,
  isManifestMediaType,
  MAX_MANIFEST_BYTES,
  MAX_OCI_LAYOUT_BYTES,
  manifestLinks,
  NotFoundError,
  parseDigest,
  readAllLimited,
  type ReadOnlyStorage,
  SizeLimitError,
  SizeMismatchError,
  DEFAULT_MAX_NODES,
} from "../../oras/content.js";
import { isNonDistributable, manifestSuccessors, orderChildrenFirst, type GraphNode, type PlanNode, type Successor } from "../../oras/copy/index.js";
import { checkLayoutMarker } from "../../oras/layout/index.js";
import { KIT_ARTIFACT_TYPE } from "../format.js";
import { MAX_BUNDLE_KEPT_BYTES, MAX_KIT_CONFIG_BYTES, MAX_KIT_FILE_BYTES, MAX_README_BYTES } from "../limits.js";
import { readKitContent, type KitContent } from "../read-kit.js";
import { bundleTarStream, type BundleFile } from "./open.js";
import { countingBytes, type BundleProgress } from "./progress.js";
import { type BundleRoot, parseBundleIndex } from "./roots.js";
import { readTar, type TarEntry } from "./tar-read.js";

export interface VerifiedRoot extends BundleRoot {
  /** The graph under the entry, children first, the entry's manifest last (foreign layers the bundle leaves out are not in it). */
  nodes: PlanNode[];
  /** Its kit, checked as kit pull checks it: kits only. */
  content?: KitContent;
}

export interface VerifiedBundle {
  file: BundleFile;
  roots: VerifiedRoot[];
  /** The verified bytes of every manifest the roots reach. */
  manifests: ReadonlyMap<string, Buffer>;
}

export interface VerifyBundleOptions {
  /** Accept kits pushed with --no-pin. */
  allowUnpinned?: boolean;
  onProgress?: BundleProgress;
}

/** Read `file` once and check all of it; what it returns is what the second read (the write) relies on. */
export async function verifyBundle(file: BundleFile, opts: VerifyBundleOptions = {}): Promise<VerifiedBundle> {
  const scan = new BundleScan(file, opts.onProgress);
  opts.onProgress?.({ type: "phase", phase: "verify" });
  await readTar(bundleTarStream(file), file.where, (entry) => scan.entry(entry));
  return scan.finish(opts.allowUnpinned ?? false);
}

/** What a blob is to the bundle, as far as what has been read says: kept for manifests and kit files. */
type Role = "manifest" | "kit-part" | "blob";
const RANK: Record<Role, number> = { blob: 0, "kit-part": 1, manifest: 2 };
/** The largest kit file (config, kit.yaml, README.md): a bigger one is refused by the kit check, unkept. */
const MAX_KIT_PART_BYTES = Math.max(MAX_KIT_CONFIG_BYTES, MAX_KIT_FILE_BYTES, MAX_README_BYTES);

class BundleScan {
  private layoutMarker: Buffer | undefined;
  private indexBytes: Buffer | undefined;
  private roots: BundleRoot[] | undefined;
  /** Size of every blob file, by digest. */
  private readonly present = new Map<string, number>();
  private readonly roles = new Map<string, Role>();
  /** How a manifest was described where it was named (its media type decides how it parses). */
  private readonly described = new Map<string, Descriptor>();
  private readonly kept = new Map<string, Buffer>();
  private keptBytes = 0;
  private readonly successors = new Map<string, Successor[]>();

  constructor(
    private readonly file: BundleFile,
    private readonly onProgress: BundleProgress | undefined,
  ) {}

  private entryName(entry: TarEntry): string {
    return `bundle entry ${JSON.stringify(entry.path)} of ${this.file.where}`;
  }

  async entry(entry: TarEntry): Promise<void> {
    switch (entry.layout.kind) {
      case "directory":
        return;
      case "oci-layout":
        this.layoutMarker = await this.single(entry, this.layoutMarker, MAX_OCI_LAYOUT_BYTES);
        return;
      case "index": {
        const first = this.indexBytes === undefined;
        this.indexBytes = await this.single(entry, this.indexBytes, MAX_MANIFEST_BYTES);
        if (first) {
          this.roots = this.parseIndex(this.indexBytes);
          this.learn(this.roots.map((root) => ({ desc: root.descriptor, role: "manifest" as const })));
        }
        return;
      }
      case "blob":
        await this.blob(entry, entry.layout.digest);
        return;
    }
  }

  /** index.json and oci-layout: read bounded; a second copy must be the same bytes. */
  private async single(entry: TarEntry, earlier: Buffer | undefined, limit: number): Promise<Buffer> {
    const bytes = await readAllLimited(entry.body, limit, this.entryName(entry));
    if (earlier !== undefined && !earlier.equals(bytes)) {
      throw new InvalidContentError(`${this.entryName(entry)} is refused: the bundle holds it twice, with different contents`, {
        hint: "the bundle is damaged or was assembled by hand; nothing was written",
      });
    }
    return bytes;
  }

  private async blob(entry: TarEntry, digest: string): Promise<void> {
    const what = this.entryName(entry);
    const role = this.roles.get(digest);
    const limit = role === "manifest" ? MAX_MANIFEST_BYTES : role === "kit-part" ? MAX_KIT_PART_BYTES : role === undefined ? MAX_MANIFEST_BYTES : -1;
    const keep = !this.kept.has(digest) && entry.size <= limit;
    if (keep && this.keptBytes + entry.size > MAX_BUNDLE_KEPT_BYTES) {
      throw new SizeLimitError(MAX_BUNDLE_KEPT_BYTES, `${what}: the manifests, kit files and blobs index.json had not named yet`, {
        hint: "write index.json and the manifests before the other blobs (kit save does), or load the images with skopeo",
      });
    }
    const descriptor: Descriptor = { mediaType: "application/octet-stream", digest, size: entry.size };
    this.onProgress?.({ type: "start", phase: "verify", descriptor });
    const count = countingBytes(this.onProgress, "verify", descriptor);
    const hash = createDigester(parseDigest(digest).algorithm);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of entry.body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      count?.(chunk);
      if (keep) chunks.push(chunk);
    }
    const actual = `${parseDigest(digest).algorithm}:${hash.digest("hex")}`;
    if (size !== entry.size) throw new SizeMismatchError(entry.size, size, what);
    if (actual !== digest) {
      throw new DigestMismatchError(digest, actual, what, { hint: "the bundle is damaged or was tampered with; nothing was written" });
    }
    this.onProgress?.({ type: "done", phase: "verify", descriptor });
    this.present.set(digest, size);
    if (!keep) return;
    this.kept.set(digest, Buffer.concat(chunks, size));
    this.keptBytes += size;
    if (role === "manifest") this.learn([], [digest]);
  }

  /**
   * Record what descriptors are (the strongest role wins), and parse every
   * manifest that is kept and not parsed yet, with `parse`: iterative, so no
   * nesting overflows the stack.
   */
  private learn(found: Array<{ desc: Descriptor; role: Role }>, parse: string[] = []): void {
    const queue = [...parse];
    for (const { desc, role } of found) this.assign(desc, role, queue);
    while (queue.length > 0) {
      const digest = queue.pop()!;
      if (this.successors.has(digest)) continue;
      const bytes = this.kept.get(digest);
      const desc = this.described.get(digest)!;
      if (bytes === undefined) {
        if (desc.size > MAX_MANIFEST_BYTES) throw new SizeLimitError(MAX_MANIFEST_BYTES, `manifest ${digest} in ${this.file.where} (${desc.size} bytes)`);
        throw new InvalidContentError(`${this.file.where} names ${digest} both as a manifest and as a layer or config`);
      }
      const children = manifestSuccessors(desc, bytes);
      this.successors.set(digest, children);
      const isKit = manifestLinks(bytes)?.artifactType === KIT_ARTIFACT_TYPE;
      for (const child of children) this.assign(child.descriptor, child.kind === "manifest" ? "manifest" : isKit ? "kit-part" : "blob", queue);
    }
  }

  private assign(desc: Descriptor, role: Role, queue: string[]): void {
    const before = this.roles.get(desc.digest);
    if (before !== undefined && RANK[before] >= RANK[role]) return;
    this.roles.set(desc.digest, role);
    if (role === "manifest") {
      this.described.set(desc.digest, desc);
      if (this.kept.has(desc.digest)) queue.push(desc.digest);
    } else if (role === "blob" && this.kept.has(desc.digest)) {
      // Kept before anything named it; now known to be a layer or config no check needs.
      this.keptBytes -= this.kept.get(desc.digest)!.length;
      this.kept.delete(desc.digest);
    }
  }

  private parseIndex(bytes: Buffer): BundleRoot[] {
    const where = `index.json of ${this.file.where}`;
    const roots = parseBundleIndex(bytes, where);
    const byName = new Map<string, string>();
    for (const [i, root] of roots.entries()) {
      if (!isManifestMediaType(root.descriptor.mediaType)) {
        throw new InvalidContentError(`${where}: manifests[${i}] names ${root.descriptor.digest} of media type ${root.descriptor.mediaType}, which is not a manifest`);
      }
      if (root.reference === undefined) continue;
      const other = byName.get(root.reference);
      if (other !== undefined && other !== root.descriptor.digest) {
        throw new InvalidContentError(`${where} names "${root.reference}" twice, for ${other} and ${root.descriptor.digest}`, {
          hint: "a reference names one manifest; nothing was written",
        });
      }
      byName.set(root.reference, root.descriptor.digest);
    }
    return roots;
  }

  finish(allowUnpinned: boolean): Promise<VerifiedBundle> {
    const where = this.file.where;
    if (this.layoutMarker === undefined) {
      throw new InvalidContentError(`${where} is not an OCI image layout: it has no oci-layout entry`, { hint: "a bundle is a tarred OCI image layout, as kit save, skopeo and oras write it" });
    }
    checkLayoutMarker(this.layoutMarker.toString("utf8"), `the oci-layout entry of ${where}`);
    if (this.indexBytes === undefined || this.roots === undefined) {
      throw new InvalidContentError(`${where} is not an OCI image layout: it has no index.json entry`, { hint: "a bundle is a tarred OCI image layout, as kit save, skopeo and oras write it" });
    }
    const roots = this.roots.map((root) => ({ ...root, nodes: this.graph(root) }));
    return this.checkKits(roots, allowUnpinned);
  }

  /** Every node under `root`, each present with the size its parent claims; children first. */
  private graph(root: BundleRoot): PlanNode[] {
    const found = new Map<string, GraphNode>();
    const pending: Array<{ desc: Descriptor; parent: string; role: Successor["role"] | "root"; kind: Successor["kind"] }> = [
      { desc: root.descriptor, parent: "index.json", role: "root", kind: "manifest" },
    ];
    while (pending.length > 0) {
      const { desc, parent, role, kind } = pending.pop()!;
      if (found.has(desc.digest)) continue;
      const size = this.present.get(desc.digest);
      if (size === undefined) {
        // Left at its source, as every copy leaves it (spec/bundle-v1.md): a foreign layer.
        if (role === "layer" && (isNonDistributable(desc) || (desc.urls !== undefined && desc.urls.length > 0))) continue;
        throw new InvalidContentError(`${this.file.where} is incomplete: ${parent} names ${desc.digest}, which the bundle does not hold`, {
          hint: "the bundle was cut short or assembled by hand; nothing was written",
        });
      }
      if (size !== desc.size) throw new SizeMismatchError(desc.size, size, `${desc.digest} in ${this.file.where} (as ${parent} describes it)`);
      if (found.size >= DEFAULT_MAX_NODES) throw new SizeLimitError(DEFAULT_MAX_NODES, `the graph under ${root.descriptor.digest} in ${this.file.where}`, { unit: "nodes" });
      // The entry itself is named only now when index.json came after it.
      if (kind === "manifest") this.learn([{ desc, role: "manifest" }], [desc.digest]);
      const children = kind === "manifest" ? this.successors.get(desc.digest)! : [];
      const present = children.filter((c) => this.present.has(c.descriptor.digest)).map((c) => c.descriptor.digest);
      found.set(desc.digest, { descriptor: desc, kind, children: [...new Set(present)] });
      for (const child of children) pending.push({ desc: child.descriptor, parent: `manifest ${desc.digest}`, role: child.role, kind: child.kind });
    }
    return orderChildrenFirst(root.descriptor.digest, found);
  }

  private async checkKits(roots: VerifiedRoot[], allowUnpinned: boolean): Promise<VerifiedBundle> {
    const storage = this.keptStorage();
    const manifests = new Map<string, Buffer>();
    for (const root of roots) {
      for (const node of root.nodes) if (node.kind === "manifest") manifests.set(node.descriptor.digest, this.kept.get(node.descriptor.digest)!);
      const manifest = this.kept.get(root.descriptor.digest)!;
      const isKit = root.kind === "kit" || manifestLinks(manifest)?.artifactType === KIT_ARTIFACT_TYPE;
      if (!isKit) continue;
      const where = `kit ${root.reference ?? root.descriptor.digest} in ${this.file.where}`;
      root.content = await readKitContent(storage, root.descriptor, manifest, where, { allowUnpinned });
      // Checked as a kit either way; one attached to its image stays an attachment of that image's repository.
      if (root.kind !== "attachment") root.kind = "kit";
    }
    return { file: this.file, roots, manifests };
  }

  /** The kept bytes as storage, for the kit check (everything in it was verified on the way in). */
  private keptStorage(): ReadOnlyStorage {
    const kept = this.kept;
    const where = this.file.where;
    return {
      exists: async (desc) => kept.has(desc.digest),
      fetch: async (desc) => {
        const bytes = kept.get(desc.digest);
        if (bytes === undefined) throw new NotFoundError(`${desc.digest} is not in ${where}`);
        return Readable.from([bytes]);
      },
    };
  }
}
