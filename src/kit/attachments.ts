/**
 * What is attached to the manifests that travel (kits, their base images,
 * every platform manifest): referrers (OCI 1.1 `subject`: kits attached
 * with --attach, Sigstore bundles, SBOMs) and cosign's tag-named
 * attachments (`sha256-<hex>.sig`, `.att`, `.sbom` in the same repository),
 * and, in turn, what is attached to those (a signature of a kit of an
 * image). An airgapped site needs them to check what it runs; `kit mirror`
 * and `kit save` carry them unless told not to. The walk is
 * src/oras/attachments.ts's (bounded in count and depth); this names it for
 * kit's callers.
 */
import { type Attachment, type AttachmentSource, type Descriptor, walkAttachments } from "../oras/content.js";

export { type Attachment, type AttachmentSource, COSIGN_TAG_SUFFIXES, cosignTag } from "../oras/content.js";

/**
 * Everything attached to `subjects` in `source`, subjects before what is
 * attached to them, each digest once (a subject itself is never listed).
 * `graphOf` gives the manifests under an attachment (an attachment may be an
 * index), so that what is attached to those is found too.
 */
export function findAttachments(
  source: AttachmentSource,
  subjects: readonly Descriptor[],
  opts: { signal?: AbortSignal; graphOf?: (d: Descriptor) => Promise<Descriptor[]> } = {},
): Promise<Attachment[]> {
  const graphOf = opts.graphOf;
  return walkAttachments(source, subjects, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(graphOf ? { visit: (a: Attachment) => graphOf(a.descriptor) } : {}),
  });
}
