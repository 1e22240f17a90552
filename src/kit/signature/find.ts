/**
 * Finding a kit's signatures in its storage: the layers of the
 * simple-signing manifest under the signature tag, and the referrers of the
 * kit of the Sigstore bundle artifact type (the referrers API, the
 * `sha256-<hex>` fallback index, or the subjects a layout records). Each is
 * read bounded and verified by digest; one that cannot be read is reported
 * as such (a reason) instead of stopping the others from being checked.
 * Nothing here decides whether a signature is trusted (verify.ts does).
 */
import { type Descriptor, fetchAll, isIndexMediaType, MAX_MANIFEST_BYTES, NotFoundError, OciError, parseImageManifest, SizeLimitError } from "../../oras/content.js";
import { manifestLinks } from "../../oras/content.js";
import { MAX_SIGNATURE_BUNDLE_BYTES, MAX_SIGNATURE_PAYLOAD_BYTES, MAX_SIGNATURES } from "../limits.js";
import { readSignatureBundle } from "./bundle.js";
import type { SignatureClaims } from "./claims.js";
import { KEY_HINT_ANNOTATION, SIGSTORE_BUNDLE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE, type SignatureForm } from "./format.js";
import { verifyData, type VerifyingKey } from "./keys.js";
import type { KitSignatures } from "./location.js";
import { layerSignature, simpleSigningClaims } from "./simple-signing.js";

/** A signature as found, not yet trusted. */
export interface FoundSignature {
  form: SignatureForm;
  /** Digest of the manifest holding it (the `.sig` manifest, or the bundle's referrer). */
  manifest: string;
  /** Digest of its payload (simple signing) or bundle blob; null when the manifest names none. */
  blob: string | null;
  /** Why it cannot be checked at all; absent when it can. */
  unreadable?: string;
  /** The fingerprint of the key it says made it (an unsigned hint); undefined when it names none. */
  claimedKey?: string | undefined;
  /** Whether its signature verifies with `key`. */
  verify(key: VerifyingKey): boolean;
  /** What it signs; only meaningful once verify() returned true. Throws InvalidContentError for content that is not a signature claim. */
  claims(): SignatureClaims;
}

/** Both forms, simple signing first, each in storage order. */
export async function findSignatures(where: KitSignatures, opts: { signal?: AbortSignal } = {}): Promise<FoundSignature[]> {
  const found = [...(await simpleSignatures(where, opts)), ...(await bundleSignatures(where, opts))];
  if (found.length > MAX_SIGNATURES) throw new SizeLimitError(MAX_SIGNATURES, `the signatures of ${where.reference}`, { unit: "signatures" });
  return found;
}

/** The layers of the simple-signing manifest under the signature tag; none when the tag is absent. */
async function simpleSignatures(where: KitSignatures, opts: { signal?: AbortSignal }): Promise<FoundSignature[]> {
  const existing = await readSignatureManifest(where, opts);
  if (existing === undefined) return [];
  const { descriptor, layers } = existing;
  if (layers === undefined) return [unreadable("simplesigning", descriptor.digest, null, existing.problem!)];
  const out: FoundSignature[] = [];
  for (const layer of layers) {
    // cosign's signature manifests hold signature layers only; anything else there is not ours to judge.
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    if (out.length >= MAX_SIGNATURES) throw new SizeLimitError(MAX_SIGNATURES, `the signatures of ${where.reference}`, { unit: "signatures" });
    const signature = layerSignature(layer);
    if (signature === undefined) {
      out.push(unreadable("simplesigning", descriptor.digest, layer.digest, "the layer has no base64 signature annotation"));
      continue;
    }
    const payload = await readable(() => fetchAll(where.target, layer, { limit: MAX_SIGNATURE_PAYLOAD_BYTES, what: `signature payload ${layer.digest} in ${where.target.name}`, ...opts }));
    if (typeof payload === "string") {
      out.push(unreadable("simplesigning", descriptor.digest, layer.digest, payload));
      continue;
    }
    out.push({
      form: "simplesigning",
      manifest: descriptor.digest,
      blob: layer.digest,
      claimedKey: layer.annotations?.[KEY_HINT_ANNOTATION],
      verify: (key) => verifyData(key, payload, signature),
      claims: () => simpleSigningClaims(payload),
    });
  }
  return out;
}

/** The signature manifest under the tag and its layers, or why they cannot be read; undefined when there is none. */
export async function readSignatureManifest(
  where: KitSignatures,
  opts: { signal?: AbortSignal } = {},
): Promise<{ descriptor: Descriptor; layers?: Descriptor[]; problem?: string } | undefined> {
  let descriptor: Descriptor;
  try {
    descriptor = await where.target.resolve(where.signatureTag, opts);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  if (isIndexMediaType(descriptor.mediaType)) return { descriptor, problem: `the tag ${where.signatureTag} holds an index, not a signature manifest` };
  const layers = await readable(async () => {
    const bytes = await fetchAll(where.target, descriptor, { limit: MAX_MANIFEST_BYTES, what: `signature manifest ${descriptor.digest} in ${where.target.name}`, ...opts });
    return parseImageManifest(descriptor, bytes).layers;
  });
  return typeof layers === "string" ? { descriptor, problem: layers } : { descriptor, layers };
}

/**
 * The bundle referrers of the kit, in either manifest form: listed with the
 * bundle artifact type, or listed with none (a fallback index written for a
 * registry that refuses OCI 1.1 fields leaves it out), in which case the
 * manifest says what it is. Referrers of other types are not looked at.
 */
async function bundleSignatures(where: KitSignatures, opts: { signal?: AbortSignal }): Promise<FoundSignature[]> {
  const listed = await where.target.predecessors(where.subject, opts);
  const referrers = listed.filter((d) => d.artifactType === undefined || d.artifactType === SIGSTORE_BUNDLE_MEDIA_TYPE);
  if (referrers.length > MAX_SIGNATURES) throw new SizeLimitError(MAX_SIGNATURES, `the signature bundles of ${where.reference}`, { unit: "signatures" });
  const out: FoundSignature[] = [];
  for (const referrer of referrers) {
    const read = await readable(async () => {
      const bytes = await fetchAll(where.target, referrer, { limit: MAX_MANIFEST_BYTES, what: `bundle referrer ${referrer.digest} in ${where.target.name}`, ...opts });
      const { layers } = parseImageManifest(referrer, bytes);
      const links = manifestLinks(bytes);
      // artifactType, else the config media type (the image-spec 1.0 form): an untyped listing that is no bundle is not ours.
      if (links?.artifactType !== SIGSTORE_BUNDLE_MEDIA_TYPE) return referrer.artifactType === undefined ? null : "its manifest is not of the bundle artifact type";
      // A listing is a claim; the manifest itself must name the kit as its subject, or (the 1.0 form on a registry that
      // refuses subject) none: the bundle's statement names the digest it signs either way, and verify checks it.
      if (links.subject !== undefined && links.subject.digest !== where.subject.digest) return "its manifest names another subject than the kit";
      const layer = layers.find((l) => l.mediaType === SIGSTORE_BUNDLE_MEDIA_TYPE);
      if (layer === undefined) return "it has no bundle layer";
      const blob = await fetchAll(where.target, layer, { limit: MAX_SIGNATURE_BUNDLE_BYTES, what: `bundle ${layer.digest} in ${where.target.name}`, ...opts });
      return { layer, bundle: readSignatureBundle(blob, `bundle ${layer.digest}`) };
    });
    if (read === null) continue;
    if (typeof read === "string") {
      out.push(unreadable("bundle", referrer.digest, null, read));
      continue;
    }
    out.push({ form: "bundle", manifest: referrer.digest, blob: read.layer.digest, claimedKey: read.bundle.claimedKey, verify: read.bundle.verify, claims: read.bundle.claims });
  }
  return out;
}

function unreadable(form: SignatureForm, manifest: string, blob: string | null, reason: string): FoundSignature {
  return {
    form,
    manifest,
    blob,
    unreadable: reason,
    verify: () => false,
    claims: () => ({ subjects: [] }),
  };
}

/**
 * What `read` returns, or the message of the content error that stopped it:
 * missing, damaged, oversized or malformed content is a finding about one
 * signature. Anything else (the network, the disk, credentials) is thrown.
 */
async function readable<T>(read: () => Promise<T>): Promise<T | string> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof OciError && CONTENT_PROBLEMS.has(err.code)) return err.message;
    throw err;
  }
}

const CONTENT_PROBLEMS = new Set(["NOT_FOUND", "INVALID_CONTENT", "UNSUPPORTED", "SIZE_LIMIT", "DIGEST_MISMATCH", "SIZE_MISMATCH"]);
