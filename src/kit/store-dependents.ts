/**
 * What removing kits from the local store leaves without a reason to stay:
 * entries `kit load` (and `kit sign`) recorded for them, which are roots of
 * their own, so `kit gc` would keep them forever.
 *
 * - The base image a removed kit pins (its `image` digest), when no kit left
 *   in the store pins the same digest: its image entries (annotation
 *   dev.aegis.kit.kind = image), under every name.
 * - Attachments of what goes: an entry is one when its annotation says
 *   `attachment`, or, unannotated (kit sign, kit copy), when it is named with
 *   cosign's tag `…:sha256-<hex>.sig|.att|.sbom` or is untagged with a
 *   `subject`. It goes when its subject is a removed kit, or a manifest the
 *   store reached before and no longer reaches (the image's index, one of its
 *   platforms, another attachment) — and so, in turn, do its attachments.
 *
 * Kit entries other than those named are never touched; nor is anything
 * whose subject was already missing before (what this removal did not orphan).
 * Computed from one snapshot of index.json, before anything changes.
 */
import { type Descriptor, fetchAll, isIndexMediaType, MAX_MANIFEST_BYTES, manifestLinks, NotFoundError, parseReference } from "../oras/content.js";
import { cosignTagSubject } from "../oras/content.js";
import type { OciLayout } from "../oras/layout/index.js";
import { Annotation } from "./format.js";

/** An entry removed because what it was there for went. */
export interface DependentEntry {
  /** The entry's name (`REGISTRY/REPO:TAG`, `REGISTRY/REPO@sha256:…`); null for an untagged entry. */
  reference: string | null;
  digest: string;
  kind: "image" | "attachment";
  /** Attachments: the digest it is attached to. */
  subject?: string;
}

/** What is needed of a kit entry (KitStore's StoreEntry). */
interface KitEntry {
  reference: string;
  digest: string;
  /** The pinned image, `REGISTRY/REPO[:TAG]@sha256:…`; absent when unpinned. */
  image?: string;
}

interface IndexEntry {
  name?: string;
  descriptor: Descriptor;
}

/**
 * The entries to remove along with `removed` (kit entries, by name): `kits`
 * is every kit entry of the store (KitStore.list()), `entries` every entry.
 */
export async function dependentsOf(layout: OciLayout, entries: readonly IndexEntry[], kits: readonly KitEntry[], removed: readonly KitEntry[]): Promise<DependentEntry[]> {
  const keyOf = (e: IndexEntry) => (e.name !== undefined ? `t:${e.name}` : `u:${e.descriptor.digest}`);
  const gone = new Set(removed.map((k) => `t:${k.reference}`));
  const remainingKits = kits.filter((k) => !gone.has(`t:${k.reference}`));
  const goneKits = new Set(removed.map((k) => k.digest).filter((d) => !remainingKits.some((k) => k.digest === d)));
  const stillPinned = new Set(remainingKits.map((k) => pinnedDigest(k.image)));
  const goneImages = new Set<string>();
  for (const k of removed) {
    const image = pinnedDigest(k.image);
    if (goneKits.has(k.digest) && image !== undefined && !stillPinned.has(image)) goneImages.add(image);
  }

  const out: DependentEntry[] = [];
  for (const e of entries) {
    if (kindOf(e) === "image" && goneImages.has(e.descriptor.digest) && !gone.has(keyOf(e))) {
      gone.add(keyOf(e));
      out.push({ reference: e.name ?? null, digest: e.descriptor.digest, kind: "image" });
    }
  }

  const graph = new ManifestGraph(layout);
  const before = await graph.reachable(entries);
  const subjects = new Map<string, string | undefined>();
  // Each round removes at least one entry, or ends the walk.
  for (;;) {
    const left = entries.filter((e) => !gone.has(keyOf(e)));
    const now = await graph.reachable(left);
    let changed = false;
    for (const e of left) {
      if (!isAttachmentCandidate(e)) continue;
      const key = keyOf(e);
      if (!subjects.has(key)) subjects.set(key, await subjectOf(layout, e));
      const subject = subjects.get(key);
      if (subject === undefined) continue;
      if (goneKits.has(subject) || (before.has(subject) && !now.has(subject))) {
        gone.add(key);
        out.push({ reference: e.name ?? null, digest: e.descriptor.digest, kind: "attachment", subject });
        changed = true;
      }
    }
    if (!changed) return out;
  }
}

function kindOf(e: IndexEntry): string | undefined {
  return e.descriptor.annotations?.[Annotation.Kind];
}

function isAttachmentCandidate(e: IndexEntry): boolean {
  const kind = kindOf(e);
  if (kind === "attachment") return true;
  if (kind !== undefined) return false;
  return e.name === undefined || cosignTagSubject(e.name) !== undefined;
}

/** The digest an attachment entry is attached to: its cosign tag says, else its manifest's `subject`. */
async function subjectOf(layout: OciLayout, e: IndexEntry): Promise<string | undefined> {
  const tagged = e.name !== undefined ? cosignTagSubject(e.name) : undefined;
  if (tagged !== undefined) return tagged;
  const bytes = await readManifest(layout, e.descriptor);
  return bytes === undefined ? undefined : manifestLinks(bytes)?.subject?.digest;
}

/** `REGISTRY/REPO:TAG@sha256:…` → the digest; undefined for an unpinned kit (or a name that does not parse). */
function pinnedDigest(image: string | undefined): string | undefined {
  if (image === undefined) return undefined;
  try {
    return parseReference(image).digest;
  } catch {
    return undefined;
  }
}

/** Manifest bytes, verified; undefined when the blob is missing (an incomplete store reaches nothing through it). */
async function readManifest(layout: OciLayout, desc: Descriptor): Promise<Buffer | undefined> {
  try {
    return await fetchAll(layout, desc, { limit: MAX_MANIFEST_BYTES, what: `manifest ${desc.digest} in ${layout.name}` });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Which manifests entries reach: each entry's, and under an index every manifest it lists, read once each. */
class ManifestGraph {
  private readonly children = new Map<string, Descriptor[]>();

  constructor(private readonly layout: OciLayout) {}

  async reachable(entries: readonly IndexEntry[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const queue = entries.map((e) => e.descriptor);
    for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      if (isIndexMediaType(d.mediaType)) queue.push(...(await this.childrenOf(d)));
    }
    return seen;
  }

  private async childrenOf(index: Descriptor): Promise<Descriptor[]> {
    let known = this.children.get(index.digest);
    if (known === undefined) {
      const bytes = await readManifest(this.layout, index);
      known = [];
      if (bytes !== undefined) {
        try {
          const doc = JSON.parse(bytes.toString("utf8")) as { manifests?: unknown };
          if (Array.isArray(doc.manifests)) {
            for (const m of doc.manifests as Array<Partial<Descriptor>>) {
              if (typeof m?.digest === "string" && typeof m.mediaType === "string") known.push({ mediaType: m.mediaType, digest: m.digest, size: Number(m.size ?? 0) });
            }
          }
        } catch {
          // Not JSON: it lists nothing.
        }
      }
      this.children.set(index.digest, known);
    }
    return known;
  }
}
