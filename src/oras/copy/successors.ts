/**
 * The edges of a content graph: given a manifest's bytes, the descriptors it
 * references, validated (strictly, by manifest.ts) before anything trusts them.
 *
 * - image manifest (OCI or Docker v2) -> config, then layers
 * - image index / Docker manifest list -> manifests
 * - any other media type -> no children (opaque content)
 *
 * A manifest's `subject` is deliberately NOT an edge: it points upward (at the
 * thing the manifest is about), and copying an artifact must not drag its
 * subject's whole graph along.
 */
import { isIndexMediaType, isManifestMediaType, type Descriptor } from "../descriptor.js";
import { parseImageIndex, parseImageManifest } from "../manifest.js";

export type NodeKind = "manifest" | "blob";

/** Where a successor sits in its parent; foreign-layer rules apply to layers only. */
export type SuccessorRole = "config" | "layer" | "manifest";

export interface Successor {
  descriptor: Descriptor;
  kind: NodeKind;
  role: SuccessorRole;
}

/**
 * Layer media types whose redistribution is restricted: registries usually do
 * not hold these blobs (clients fetch them from `urls`), so by default copy
 * leaves them where they are, as oras-go does.
 */
const NON_DISTRIBUTABLE_LAYER_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

export function isNonDistributable(desc: Descriptor): boolean {
  return NON_DISTRIBUTABLE_LAYER_TYPES.has(desc.mediaType);
}

/** The kind of node a descriptor is when nothing else (its position in a parent) says. */
export function kindOf(desc: Descriptor): NodeKind {
  return isManifestMediaType(desc.mediaType) ? "manifest" : "blob";
}

/**
 * Parse `bytes` (the content of `desc`) and return its children in document
 * order. Throws InvalidContentError naming the digest on anything that is not
 * a well-formed manifest of the type desc.mediaType says.
 */
export function manifestSuccessors(desc: Descriptor, bytes: Uint8Array): Successor[] {
  if (!isManifestMediaType(desc.mediaType)) return [];
  if (isIndexMediaType(desc.mediaType)) {
    return parseImageIndex(desc, bytes).manifests.map((d) => ({ descriptor: d, kind: "manifest", role: "manifest" }));
  }
  const { config, layers } = parseImageManifest(desc, bytes);
  return [
    { descriptor: config, kind: "blob", role: "config" },
    ...layers.map((d): Successor => ({ descriptor: d, kind: "blob", role: "layer" })),
  ];
}
