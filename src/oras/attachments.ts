/**
 * What is attached to manifests, and what is attached to that in turn — one
 * bounded walk for every caller (copy -r, bundles, mirrors, discovery).
 * Two conventions attach a manifest to another: OCI 1.1 referrers (a
 * `subject` field, found through the referrers API, the `sha256-<hex>`
 * fallback index, or the subjects an OCI layout records) and cosign's tags
 * (`sha256-<hex>.sig`, `.att`, `.sbom` in the subject's repository).
 *
 * Breadth first, subjects before what is attached to them, each digest once
 * (a subject itself is never listed). Bounded: at most MAX_REFERRERS_COPIED
 * attachments in all and MAX_REFERRER_DEPTH levels, since a source could
 * list attachments without end.
 */
import { type Descriptor, isManifestMediaType } from "./descriptor.js";
import { parseDigest } from "./digest.js";
import { NotFoundError, SizeLimitError } from "./errors.js";
import { MAX_REFERRER_DEPTH, MAX_REFERRERS_COPIED } from "./limits.js";
import type { PredecessorFinder, ReadOnlyStorage, Resolver } from "./target.js";

/** cosign's tag suffixes: signatures, attestations, SBOMs, each a manifest tagged `<alg>-<hex><suffix>`. */
export const COSIGN_TAG_SUFFIXES = [".sig", ".att", ".sbom"] as const;

export type CosignTagSuffix = (typeof COSIGN_TAG_SUFFIXES)[number];

/** `sha256:abc…` + `.sig` → `sha256-abc….sig`, cosign's tag for what it attaches to that digest. */
export function cosignTag(digest: string, suffix: CosignTagSuffix): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}${suffix}`;
}

const COSIGN_TAG = /(?:^|:)(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})\.(?:sig|att|sbom)$/;

/**
 * The digest a cosign tag attaches to: `sha256-abc….sig` → `sha256:abc…`
 * (also at the end of a full `REGISTRY/REPO:TAG` name); undefined for any
 * other tag.
 */
export function cosignTagSubject(tag: string): string | undefined {
  const m = COSIGN_TAG.exec(tag);
  return m === null ? undefined : m[1]!.replace("-", ":");
}

export interface Attachment {
  /** The attached manifest. */
  descriptor: Descriptor;
  /** The digest it is attached to. */
  subject: string;
  /** Set for cosign's tag-named attachments: the tag it goes by (kept wherever it travels). */
  tag?: string;
}

/** Where attachments are looked up: referrers need predecessors, cosign's tags need resolve. */
export type AttachmentSource = Partial<ReadOnlyStorage & Resolver & PredecessorFinder>;

export interface AttachmentWalkOptions {
  signal?: AbortSignal;
  /** Look up cosign's tag-named attachments too (the source must resolve tags). Default true. */
  cosignTags?: boolean;
  /** Only referrers of this artifact type at the first level (under them, anything); no cosign tags at that level. */
  artifactType?: string;
  /** Attachments at most, every level together; default MAX_REFERRERS_COPIED. */
  maxAttachments?: number;
  /** Levels at most; default MAX_REFERRER_DEPTH. */
  maxDepth?: number;
  /** What `the attachments under …` names in limit errors; default the first subject's digest. */
  what?: string;
  /**
   * Called for each attachment as it is found, in the walk's order (so a
   * copy can carry it before its own attachments are looked up). Returns
   * the manifests under it (an attachment may be an index) whose
   * attachments are wanted too; the attachment itself always is.
   */
  visit?: (attachment: Attachment) => Promise<readonly Descriptor[] | void> | readonly Descriptor[] | void;
}

/**
 * Everything attached to `subjects` in `source`, and to that in turn,
 * subjects before what is attached to them, each digest once.
 */
export async function walkAttachments(source: AttachmentSource, subjects: readonly Descriptor[], opts: AttachmentWalkOptions = {}): Promise<Attachment[]> {
  const limit = opts.maxAttachments ?? MAX_REFERRERS_COPIED;
  const maxDepth = opts.maxDepth ?? MAX_REFERRER_DEPTH;
  const what = `the attachments under ${opts.what ?? subjects[0]?.digest ?? "the root"}`;
  const seen = new Set(subjects.map((s) => s.digest));
  const found: Attachment[] = [];
  let level = unique(subjects.filter((s) => isManifestMediaType(s.mediaType)));
  for (let depth = 1; level.length > 0; depth++) {
    const next: Descriptor[] = [];
    for (const subject of level) {
      for (const a of await attachedTo(source, subject, depth, opts)) {
        if (seen.has(a.descriptor.digest)) continue;
        seen.add(a.descriptor.digest);
        // Level `depth` is attached to level depth-1; the subjects given are level 0.
        if (depth > maxDepth) throw new SizeLimitError(maxDepth, what, { unit: "levels" });
        if (found.length >= limit) throw new SizeLimitError(limit, what, { unit: "attachments" });
        found.push(a);
        next.push(a.descriptor);
        for (const inner of (await opts.visit?.(a)) ?? []) {
          if (seen.has(inner.digest) || !isManifestMediaType(inner.mediaType)) continue;
          seen.add(inner.digest);
          next.push(inner);
        }
      }
    }
    level = next;
  }
  return found;
}

/** What is attached to one subject directly: its referrers, then cosign's tags for it. */
async function attachedTo(source: AttachmentSource, subject: Descriptor, depth: number, opts: AttachmentWalkOptions): Promise<Attachment[]> {
  const signal = opts.signal ? { signal: opts.signal } : {};
  const out: Attachment[] = [];
  if (typeof source.predecessors === "function") {
    const filter = depth === 1 && opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {};
    for (const d of await source.predecessors(subject, { ...filter, ...signal })) out.push({ descriptor: d, subject: subject.digest });
  }
  const tagged = opts.cosignTags !== false && !(depth === 1 && opts.artifactType !== undefined);
  if (tagged && typeof source.resolve === "function") {
    for (const suffix of COSIGN_TAG_SUFFIXES) {
      const tag = cosignTag(subject.digest, suffix);
      try {
        out.push({ descriptor: await source.resolve(tag, signal), subject: subject.digest, tag });
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
  }
  return out;
}

function unique(list: readonly Descriptor[]): Descriptor[] {
  const byDigest = new Map<string, Descriptor>();
  for (const d of list) if (!byDigest.has(d.digest)) byDigest.set(d.digest, d);
  return [...byDigest.values()];
}
