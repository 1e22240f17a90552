/**
 * What is attached to the manifests that travel (kits, their base images,
 * every platform manifest): referrers (OCI 1.1 `subject`: kits attached
 * with --attach, Sigstore bundles, SBOMs) and cosign's tag-named
 * attachments (`sha256-<hex>.sig`, `.att`, `.sbom` in the same repository),
 * and, in turn, what is attached to those (a signature of a kit of an
 * image). An airgapped site needs them to check what it runs; `kit mirror`
 * and `kit save` carry them unless told not to. Bounded: a source could list
 * attachments without end.
 */
import {
  type Descriptor,
  isManifestMediaType,
  MAX_REFERRER_DEPTH,
  MAX_REFERRERS_COPIED,
  NotFoundError,
  parseDigest,
  type PredecessorFinder,
  type ReadOnlyStorage,
  type Resolver,
  SizeLimitError,
} from "../oras/content.js";

/** cosign's tag suffixes: signatures, attestations, SBOMs, each an image tagged `<alg>-<hex><suffix>`. */
export const COSIGN_TAG_SUFFIXES = [".sig", ".att", ".sbom"] as const;

export interface Attachment {
  /** The attached manifest. */
  descriptor: Descriptor;
  /** The digest it is attached to. */
  subject: string;
  /** Set for cosign's tag-named attachments: the tag it goes by (kept wherever it travels). */
  tag?: string;
}

export type AttachmentSource = ReadOnlyStorage & Resolver & Partial<PredecessorFinder>;

/** `sha256:abc…` + `.sig` → `sha256-abc….sig`, cosign's tag for what it attaches to that digest. */
export function cosignTag(digest: string, suffix: (typeof COSIGN_TAG_SUFFIXES)[number]): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}${suffix}`;
}

/**
 * Everything attached to `subjects` in `source`, subjects before what is
 * attached to them, each digest once (a subject itself is never listed).
 * `graphOf` gives the manifests under an attachment (an attachment may be an
 * index), so that what is attached to those is found too.
 */
export async function findAttachments(
  source: AttachmentSource,
  subjects: readonly Descriptor[],
  opts: { signal?: AbortSignal; graphOf?: (d: Descriptor) => Promise<Descriptor[]> } = {},
): Promise<Attachment[]> {
  const signal = opts.signal ? { signal: opts.signal } : {};
  const seen = new Set(subjects.map((s) => s.digest));
  const found: Attachment[] = [];
  let level = subjects.filter((s) => isManifestMediaType(s.mediaType));
  for (let depth = 0; level.length > 0; depth++) {
    if (depth >= MAX_REFERRER_DEPTH) throw new SizeLimitError(MAX_REFERRER_DEPTH, `the attachments under ${subjects[0]?.digest ?? "the root"}`, { unit: "levels" });
    const next: Descriptor[] = [];
    for (const subject of level) {
      for (const a of await attachedTo(source, subject, signal)) {
        if (seen.has(a.descriptor.digest)) continue;
        seen.add(a.descriptor.digest);
        if (found.length >= MAX_REFERRERS_COPIED) throw new SizeLimitError(MAX_REFERRERS_COPIED, `the attachments under ${subjects[0]?.digest ?? "the root"}`, { unit: "manifests" });
        found.push(a);
        next.push(a.descriptor);
        for (const inner of opts.graphOf ? await opts.graphOf(a.descriptor) : []) {
          if (!seen.has(inner.digest)) next.push(inner);
        }
      }
    }
    level = next;
  }
  return found;
}

async function attachedTo(source: AttachmentSource, subject: Descriptor, signal: { signal?: AbortSignal }): Promise<Attachment[]> {
  const out: Attachment[] = [];
  if (typeof source.predecessors === "function") {
    for (const d of await source.predecessors(subject, signal)) out.push({ descriptor: d, subject: subject.digest });
  }
  for (const suffix of COSIGN_TAG_SUFFIXES) {
    const tag = cosignTag(subject.digest, suffix);
    try {
      out.push({ descriptor: await source.resolve(tag, signal), subject: subject.digest, tag });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return out;
}
