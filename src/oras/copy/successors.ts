/**
 * The edges of a content graph: given a manifest's bytes, the descriptors it
 * references, validated before anything trusts them.
 *
 * - image manifest (OCI or Docker v2) -> config, then layers
 * - image index / Docker manifest list -> manifests
 * - any other media type -> no children (opaque content)
 *
 * A manifest's `subject` is deliberately NOT an edge: it points upward (at the
 * thing the manifest is about), and copying an artifact must not drag its
 * subject's whole graph along.
 */
import { isIndexMediaType, isManifestMediaType, MAX_MANIFEST_BYTES, type Descriptor, type Platform } from "../descriptor.js";
import { parseDigest } from "../digest.js";
import { InvalidContentError, OciError, SizeLimitError } from "../errors.js";

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

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parse `bytes` (the content of `desc`) and return its children in document
 * order. Throws InvalidContentError naming the digest on anything that is not
 * a well-formed manifest of the type desc.mediaType says.
 */
export function manifestSuccessors(desc: Descriptor, bytes: Uint8Array): Successor[] {
  if (!isManifestMediaType(desc.mediaType)) return [];
  const doc = parseManifestJson(desc, bytes);
  const where = `manifest ${desc.digest}`;

  if (doc.schemaVersion !== 2) {
    throw new InvalidContentError(`${where}: schemaVersion is ${JSON.stringify(doc.schemaVersion)}, expected 2`);
  }
  // A body whose own mediaType contradicts its descriptor could make us read an index as an image (or back).
  if (doc.mediaType !== undefined && doc.mediaType !== desc.mediaType) {
    throw new InvalidContentError(
      `${where}: its mediaType ${JSON.stringify(doc.mediaType)} contradicts the descriptor's "${desc.mediaType}"`,
    );
  }

  if (isIndexMediaType(desc.mediaType)) {
    return readDescriptorArray(doc, "manifests", where).map((d) => ({ descriptor: d, kind: "manifest", role: "manifest" }));
  }
  if (!isObject(doc.config)) {
    throw new InvalidContentError(`${where}: "config" is missing or not an object`);
  }
  const config = readDescriptor(doc.config, "config", where);
  const layers = readDescriptorArray(doc, "layers", where);
  return [
    { descriptor: config, kind: "blob", role: "config" },
    ...layers.map((d): Successor => ({ descriptor: d, kind: "blob", role: "layer" })),
  ];
}

function parseManifestJson(desc: Descriptor, bytes: Uint8Array): Json {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new SizeLimitError(MAX_MANIFEST_BYTES, `manifest ${desc.digest}`);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new InvalidContentError(`manifest ${desc.digest} (${desc.mediaType}) is not valid UTF-8 JSON`, {
      cause: err,
      hint: "the source holds corrupt or non-manifest content under this digest",
    });
  }
  if (!isObject(doc)) {
    throw new InvalidContentError(`manifest ${desc.digest} (${desc.mediaType}) is not a JSON object`);
  }
  return doc;
}

function readDescriptorArray(doc: Json, field: string, where: string): Descriptor[] {
  const value = doc[field];
  if (!Array.isArray(value)) {
    throw new InvalidContentError(`${where}: "${field}" is missing or not an array`);
  }
  return value.map((item, i) => readDescriptor(item, `${field}[${i}]`, where));
}

/** Validate one descriptor inside a manifest and keep only the fields a descriptor may carry. */
export function readDescriptor(value: unknown, field: string, where: string): Descriptor {
  const bad = (what: string, cause?: unknown): InvalidContentError =>
    new InvalidContentError(`${where}: ${field}${what}`, cause === undefined ? undefined : { cause });
  if (!isObject(value)) throw bad(" is not an object");

  const { mediaType, digest, size, urls, annotations, platform, artifactType, data } = value;
  if (typeof mediaType !== "string" || mediaType === "") throw bad(".mediaType is missing or not a string");
  if (typeof digest !== "string") throw bad(".digest is missing or not a string");
  try {
    parseDigest(digest);
  } catch (err) {
    throw bad(`.digest is invalid: ${err instanceof OciError ? err.message : String(err)}`, err);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw bad(`.size ${JSON.stringify(size)} is not a non-negative integer`);
  }

  const desc: Descriptor = { mediaType, digest, size };
  if (urls !== undefined) {
    if (!Array.isArray(urls) || !urls.every((u) => typeof u === "string")) throw bad(".urls is not an array of strings");
    desc.urls = urls as string[];
  }
  if (annotations !== undefined) {
    if (!isObject(annotations) || !Object.values(annotations).every((v) => typeof v === "string")) {
      throw bad(".annotations is not an object of strings");
    }
    desc.annotations = annotations as Record<string, string>;
  }
  if (platform !== undefined) {
    if (!isObject(platform) || typeof platform.architecture !== "string" || typeof platform.os !== "string") {
      throw bad(".platform needs string architecture and os");
    }
    desc.platform = platform as unknown as Platform;
  }
  if (artifactType !== undefined) {
    if (typeof artifactType !== "string") throw bad(".artifactType is not a string");
    desc.artifactType = artifactType;
  }
  if (data !== undefined) {
    if (typeof data !== "string") throw bad(".data is not a base64 string");
    desc.data = data;
  }
  return desc;
}

