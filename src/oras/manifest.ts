/**
 * Manifests, indexes and descriptors as read from a registry, a layout or a
 * caller: the one parser every reader uses (oras-go keeps the same rules in
 * internal/manifestutil), and the size limits that bound them.
 *
 * Strict (parseManifestJson, readDescriptor, parseImageManifest,
 * parseImageIndex, parseReferrersIndex): for content about to be trusted,
 * copied or listed. Anything malformed is an InvalidContentError naming the
 * document (its digest, where known) and the field.
 *
 * Lenient (lenientDescriptor, manifestLinks, manifestChildren): bookkeeping
 * over content a store already holds and has verified by digest. These never
 * throw; what cannot be read yields nothing.
 *
 * Both refuse JSON nested deeper than MAX_JSON_DEPTH; strict readers also
 * refuse an index listing more than MAX_MANIFEST_CHILDREN descriptors.
 */
import { isIndexMediaType, isManifestMediaType, MediaType, type Descriptor } from "./descriptor.js";
import { isDigest, parseDigest } from "./digest.js";
import { InvalidContentError, OciError, SizeLimitError } from "./errors.js";
import { isJsonObject, jsonDepthExceeds, quoteJson, type JsonObject } from "./json.js";
import { MAX_MANIFEST_CHILDREN, MAX_JSON_DEPTH, MAX_MANIFEST_BYTES } from "./limits.js";
/**
 * The OCI artifact manifest of image-spec 1.1 release candidates. Nothing
 * pushes it any more (it is not in MANIFEST_MEDIA_TYPES), but old layouts may
 * hold one, and its `blobs` are children.
 */
export const ARTIFACT_MANIFEST_MEDIA_TYPE = "application/vnd.oci.artifact.manifest.v1+json";

/** The parts of an image manifest (OCI or Docker v2) that make its graph. */
export interface ImageManifest {
  config: Descriptor;
  layers: Descriptor[];
}

/** The part of an image index (OCI or Docker manifest list) that makes its graph. */
export interface ImageIndex {
  manifests: Descriptor[];
}

// ---- strict ----

/**
 * Bytes as a UTF-8 JSON object of at most MAX_MANIFEST_BYTES; `what` names
 * the document in errors.
 */
export function parseManifestJson(bytes: Uint8Array, what: string, opts: { hint?: string } = {}): JsonObject {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new SizeLimitError(MAX_MANIFEST_BYTES, what);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new InvalidContentError(`${what} is not valid UTF-8 JSON`, { cause: err, ...(opts.hint !== undefined ? { hint: opts.hint } : {}) });
  }
  if (!isJsonObject(doc)) throw new InvalidContentError(`${what} is not a JSON object`);
  if (jsonDepthExceeds(doc, MAX_JSON_DEPTH)) throw new SizeLimitError(MAX_JSON_DEPTH, `the nesting of ${what}`, { unit: "levels" });
  return doc;
}

export interface ReadDescriptorOptions {
  /** Keep fields a descriptor does not define, as found (index.json entries are rewritten as they were read). */
  keepUnknownFields?: boolean;
  /** The second line of every error. */
  hint?: string;
}

/**
 * Validate one descriptor found at `field` (such as `layers[1]`) of the
 * document `where` names. Errors read `WHERE: FIELD.PART problem`. Only the
 * fields a descriptor may carry are kept, unless keepUnknownFields.
 */
export function readDescriptor(value: unknown, field: string, where: string, opts: ReadDescriptorOptions = {}): Descriptor {
  const result = checkDescriptor(value, field, "strict", opts.keepUnknownFields === true);
  if ("desc" in result) return result.desc;
  const details = { ...(opts.hint !== undefined ? { hint: opts.hint } : {}), ...(result.cause !== undefined ? { cause: result.cause } : {}) };
  throw new InvalidContentError(`${where}: ${result.problem}`, details);
}

/** An image manifest's config and layers, validated; desc.mediaType must be an image manifest type. */
export function parseImageManifest(desc: Descriptor, bytes: Uint8Array): ImageManifest {
  if (!isManifestMediaType(desc.mediaType) || isIndexMediaType(desc.mediaType)) {
    throw new InvalidContentError(`manifest ${desc.digest}: ${desc.mediaType} is not an image manifest media type`);
  }
  const { doc, where } = manifestDocument(desc, bytes);
  if (!isJsonObject(doc.config)) throw new InvalidContentError(`${where}: "config" is missing or not an object`);
  return { config: readDescriptor(doc.config, "config", where), layers: readDescriptorList(doc, "layers", where, true) };
}

/** An index's manifests, validated; desc.mediaType must be an index type. */
export function parseImageIndex(desc: Descriptor, bytes: Uint8Array): ImageIndex {
  if (!isIndexMediaType(desc.mediaType)) {
    throw new InvalidContentError(`manifest ${desc.digest}: ${desc.mediaType} is not an image index media type`);
  }
  const { doc, where } = manifestDocument(desc, bytes);
  return { manifests: readDescriptorList(doc, "manifests", where, true) };
}

/**
 * The descriptors a referrers index lists (the referrers API's answer or the
 * fallback tag's index), validated; no `manifests` means none.
 */
export function parseReferrersIndex(bytes: Uint8Array, where: string): Descriptor[] {
  return readDescriptorList(parseManifestJson(bytes, where), "manifests", where, false);
}

function manifestDocument(desc: Descriptor, bytes: Uint8Array): { doc: JsonObject; where: string } {
  const doc = parseManifestJson(bytes, `manifest ${desc.digest} (${desc.mediaType})`, {
    hint: "the source holds corrupt or non-manifest content under this digest",
  });
  const where = `manifest ${desc.digest}`;
  if (doc.schemaVersion !== 2) {
    throw new InvalidContentError(`${where}: schemaVersion is ${quoteJson(doc.schemaVersion)}, expected 2`);
  }
  // A body whose own mediaType contradicts its descriptor could make us read an index as an image (or back).
  if (doc.mediaType !== undefined && doc.mediaType !== desc.mediaType) {
    throw new InvalidContentError(`${where}: its mediaType ${quoteJson(doc.mediaType)} contradicts the descriptor's "${desc.mediaType}"`);
  }
  return { doc, where };
}

function readDescriptorList(doc: JsonObject, field: string, where: string, required: boolean): Descriptor[] {
  const value = doc[field];
  if (!required && (value === undefined || value === null)) return [];
  if (!Array.isArray(value)) {
    throw new InvalidContentError(`${where}: "${field}" is ${required ? "missing or " : ""}not an array`);
  }
  if (value.length > MAX_MANIFEST_CHILDREN) throw new SizeLimitError(MAX_MANIFEST_CHILDREN, `${where}: "${field}" (${value.length} descriptors)`, { unit: "descriptors" });
  return value.map((item, i) => readDescriptor(item, `${field}[${i}]`, where));
}

type OptionalField = "urls" | "annotations" | "platform" | "artifactType" | "data";
type Checked = { desc: Descriptor } | { problem: string; cause?: unknown };

/**
 * The descriptor rules, once. Strict: the first problem. Lenient: a problem
 * with a required field (mediaType, digest, size) rejects the descriptor; an
 * optional field that breaks its rule is dropped.
 */
function checkDescriptor(value: unknown, field: string, mode: "strict" | "lenient", keepUnknown: boolean): Checked {
  if (!isJsonObject(value)) return { problem: `${field} must be a descriptor object` };
  const { mediaType, digest, size, urls, annotations, platform, artifactType, data } = value;
  if (typeof mediaType !== "string" || mediaType === "") return { problem: `${field}.mediaType must be a non-empty string` };
  if (typeof digest !== "string") return { problem: `${field}.digest must be a string` };
  if (!isDigest(digest)) {
    try {
      parseDigest(digest);
    } catch (err) {
      return { problem: `${field}.digest is invalid: ${err instanceof OciError ? err.message : String(err)}`, cause: err };
    }
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    return { problem: `${field}.size must be a non-negative integer, got ${quoteJson(size)}` };
  }

  const desc: Descriptor = keepUnknown ? ({ ...value } as unknown as Descriptor) : { mediaType, digest, size };
  const optional: Array<[name: OptionalField, present: boolean, ok: boolean, problem: string]> = [
    ["urls", urls !== undefined, Array.isArray(urls) && urls.every((u) => typeof u === "string"), "must be an array of strings"],
    ["annotations", annotations !== undefined, isStringMap(annotations), "must be an object of strings"],
    [
      "platform",
      platform !== undefined,
      isJsonObject(platform) && typeof platform.architecture === "string" && typeof platform.os === "string",
      "needs string architecture and os",
    ],
    ["artifactType", artifactType !== undefined, typeof artifactType === "string", "must be a string"],
    ["data", data !== undefined, typeof data === "string", "must be a base64 string"],
  ];
  for (const [name, present, ok, problem] of optional) {
    if (!present) continue;
    if (!ok) {
      if (mode === "strict") return { problem: `${field}.${name} ${problem}` };
      delete desc[name];
      continue;
    }
    (desc as unknown as JsonObject)[name] = value[name];
  }
  return { desc };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isJsonObject(value) && Object.values(value).every((v) => typeof v === "string");
}

// ---- lenient ----

/** A descriptor when `value` has a usable mediaType, digest and size (invalid optional fields dropped); else undefined. */
export function lenientDescriptor(value: unknown): Descriptor | undefined {
  const result = checkDescriptor(value, "", "lenient", false);
  return "desc" in result ? result.desc : undefined;
}

/** The few facts a store keeps about a manifest it holds. */
export interface ManifestLinks {
  /** The document's own mediaType, or one inferred from its shape. */
  mediaType?: string;
  /** Digests listed in an index's `manifests`. */
  children: string[];
  subject?: Descriptor;
  /** artifactType, else config.mediaType: what the referrers API reports. */
  artifactType?: string;
  /** Kept only when every value is a string. */
  annotations?: Record<string, string>;
}

/**
 * What a store needs to know about a manifest it holds: its media type (for
 * resolving an untagged digest), the manifests an index lists (children) and
 * its `subject` (for the referrers view). undefined when the bytes are not a
 * JSON object.
 */
export function manifestLinks(bytes: Uint8Array): ManifestLinks | undefined {
  const doc = lenientJson(bytes);
  if (doc === undefined) return undefined;
  const links: ManifestLinks = { children: [] };
  if (Array.isArray(doc.manifests)) {
    for (const m of doc.manifests) {
      const child = lenientDescriptor(m);
      if (child) links.children.push(child.digest);
    }
  }
  const mediaType = typeof doc.mediaType === "string" ? doc.mediaType : inferMediaType(doc);
  if (mediaType !== undefined) links.mediaType = mediaType;
  const subject = lenientDescriptor(doc.subject);
  if (subject) links.subject = subject;
  const artifactType =
    typeof doc.artifactType === "string" ? doc.artifactType : isJsonObject(doc.config) && typeof doc.config.mediaType === "string" ? doc.config.mediaType : undefined;
  if (artifactType !== undefined) links.artifactType = artifactType;
  if (isStringMap(doc.annotations)) links.annotations = doc.annotations;
  return links;
}

/**
 * Everything a stored manifest references, for garbage collection and
 * verification: config, layers, manifests, and the `blobs` of an old artifact
 * manifest; entries that are not descriptors are skipped. [] for content
 * that is not a manifest; undefined when a manifest's bytes are not a JSON
 * object, so what it references is unknown.
 */
export function manifestChildren(desc: Descriptor, bytes: Uint8Array): Descriptor[] | undefined {
  if (!isManifestMediaType(desc.mediaType) && desc.mediaType !== ARTIFACT_MANIFEST_MEDIA_TYPE) return [];
  const doc = lenientJson(bytes);
  if (doc === undefined) return undefined;
  const candidates: unknown[] = [doc.config];
  for (const key of ["layers", "manifests", "blobs"]) {
    const list = doc[key];
    if (Array.isArray(list)) candidates.push(...list);
  }
  return candidates.map(lenientDescriptor).filter((d): d is Descriptor => d !== undefined);
}

/** The descriptor the referrers API gives for a manifest (desc) whose links name a subject. */
export function referrerDescriptor(desc: Descriptor, links: Pick<ManifestLinks, "artifactType" | "annotations">): Descriptor {
  const out: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (links.artifactType !== undefined) out.artifactType = links.artifactType;
  if (links.annotations !== undefined && isStringMap(links.annotations)) out.annotations = { ...links.annotations };
  return out;
}

/** OCI manifests may omit mediaType; their shape still tells an image manifest from an index. */
function inferMediaType(doc: JsonObject): string | undefined {
  if (doc.schemaVersion !== 2) return undefined;
  if (Array.isArray(doc.manifests)) return MediaType.ImageIndex;
  if (isJsonObject(doc.config) && Array.isArray(doc.layers)) return MediaType.ImageManifest;
  return undefined;
}

/** Invalid UTF-8 decodes to U+FFFD, as Go's encoding/json reads it; too big or not a JSON object gives undefined. */
function lenientJson(bytes: Uint8Array): JsonObject | undefined {
  if (bytes.length > MAX_MANIFEST_BYTES) return undefined;
  try {
    const doc: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
    return isJsonObject(doc) && !jsonDepthExceeds(doc, MAX_JSON_DEPTH) ? doc : undefined;
  } catch {
    return undefined;
  }
}
