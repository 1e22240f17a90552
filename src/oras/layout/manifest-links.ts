/**
 * The few facts a store keeps about a manifest it holds: its media type (for
 * resolving an untagged digest), the manifests an index lists (children) and
 * its `subject` (for the referrers view). Lenient on purpose: this is
 * bookkeeping over content already verified by digest, not validation;
 * anything unreadable yields no links rather than an error.
 */
import { MediaType, type Descriptor } from "../descriptor.js";
import { isSupportedDigest } from "./index-file.js";

export interface ManifestLinks {
  /** The document's own mediaType, or one inferred from its shape. */
  mediaType?: string;
  /** Digests listed in an index's `manifests`. */
  children: string[];
  subject?: Descriptor;
  /** artifactType, else config.mediaType: what the referrers API reports. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function manifestLinks(bytes: Uint8Array): ManifestLinks | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isObject(doc)) return undefined;
  const links: ManifestLinks = { children: [] };
  if (Array.isArray(doc.manifests)) {
    for (const m of doc.manifests) if (isObject(m) && typeof m.digest === "string" && isSupportedDigest(m.digest)) links.children.push(m.digest);
  }
  const mediaType = typeof doc.mediaType === "string" ? doc.mediaType : inferMediaType(doc);
  if (mediaType !== undefined) links.mediaType = mediaType;
  const subject = doc.subject;
  if (isObject(subject) && typeof subject.digest === "string" && isSupportedDigest(subject.digest) && typeof subject.mediaType === "string") {
    links.subject = subject as unknown as Descriptor;
  }
  const artifactType =
    typeof doc.artifactType === "string" ? doc.artifactType : isObject(doc.config) && typeof doc.config.mediaType === "string" ? doc.config.mediaType : undefined;
  if (artifactType !== undefined) links.artifactType = artifactType;
  if (isObject(doc.annotations) && Object.values(doc.annotations).every((v) => typeof v === "string")) {
    links.annotations = doc.annotations as Record<string, string>;
  }
  return links;
}

/** OCI manifests may omit mediaType; their shape still tells an image manifest from an index. */
function inferMediaType(doc: Json): string | undefined {
  if (doc.schemaVersion !== 2) return undefined;
  if (Array.isArray(doc.manifests)) return MediaType.ImageIndex;
  if (isObject(doc.config) && Array.isArray(doc.layers)) return MediaType.ImageManifest;
  return undefined;
}

/** The descriptor the referrers API gives for a manifest that has a subject. */
export function referrerDescriptor(desc: Descriptor, links: ManifestLinks): Descriptor {
  const out: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (links.artifactType !== undefined) out.artifactType = links.artifactType;
  if (links.annotations !== undefined) out.annotations = { ...links.annotations };
  return out;
}
