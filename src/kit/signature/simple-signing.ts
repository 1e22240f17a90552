/**
 * cosign's "simple signing" form (cosign 2, containers-policy
 * `sigstoreSigned`, Kyverno, Flux): a payload naming the repository and the
 * manifest digest, signed with ECDSA-SHA256 over its exact bytes; the
 * signature manifest tagged `sha256-<hex>.sig` holds one layer per signature,
 * each the payload blob with the base64 DER signature in an annotation.
 */
import { type DescribedBytes, type Descriptor, digestOf, InvalidContentError, isDigest, isJsonObject, MediaType } from "../../oras/content.js";
import { canonicalJson } from "../canonical-json.js";
import type { SignatureClaims } from "./claims.js";
import { COSIGN_SIGNATURE_ANNOTATION, COSIGN_SIGNATURE_TYPE, KEY_HINT_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from "./format.js";
import { signData, type SigningKey } from "./keys.js";

/**
 * The payload for `digest` in repository `identity`, as canonical JSON:
 * `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},"type":…},"optional":null}`
 * (`optional` null, as cosign writes it without annotations).
 */
export function simpleSigningPayload(identity: string, digest: string): Buffer {
  const payload = {
    critical: { identity: { "docker-reference": identity }, image: { "docker-manifest-digest": digest }, type: COSIGN_SIGNATURE_TYPE },
    optional: null,
  };
  return Buffer.from(canonicalJson(payload), "utf8");
}

/** What a payload claims, read only after its signature verified; InvalidContentError says what is wrong with it. */
export function simpleSigningClaims(payload: Uint8Array): SignatureClaims {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    throw new InvalidContentError("the payload is not UTF-8 JSON");
  }
  const critical = isJsonObject(doc) ? doc.critical : undefined;
  if (!isJsonObject(critical)) throw new InvalidContentError('the payload has no "critical" object');
  if (critical.type !== COSIGN_SIGNATURE_TYPE) throw new InvalidContentError(`the payload's critical.type is ${JSON.stringify(critical.type)}, not "${COSIGN_SIGNATURE_TYPE}"`);
  const image = isJsonObject(critical.image) ? critical.image["docker-manifest-digest"] : undefined;
  if (typeof image !== "string" || !isDigest(image)) throw new InvalidContentError("the payload's critical.image.docker-manifest-digest is not a digest");
  const identity = isJsonObject(critical.identity) ? critical.identity["docker-reference"] : undefined;
  if (typeof identity !== "string") throw new InvalidContentError("the payload's critical.identity.docker-reference is not a string");
  return { subjects: [{ digest: image, identity }] };
}

/** A signature layer: the payload's descriptor with the signature (and kit's key hint) annotated. */
export function simpleSigningLayer(payload: Uint8Array, key: SigningKey): Descriptor {
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: digestOf(payload),
    size: payload.length,
    annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signData(key, payload).toString("base64"), [KEY_HINT_ANNOTATION]: key.fingerprint },
  };
}

/** The base64 signature of a layer, decoded; undefined when absent or not base64. */
export function layerSignature(layer: Descriptor): Buffer | undefined {
  const text = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
  if (text === undefined || text.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, "base64");
}

/**
 * The signature manifest holding `layers` and its config, as cosign builds
 * them (go-containerregistry's empty image with the layers appended): an
 * image config whose rootfs lists each layer, with zero times.
 */
export function simpleSigningManifest(layers: readonly Descriptor[]): { config: DescribedBytes; manifest: DescribedBytes } {
  const zero = "0001-01-01T00:00:00Z";
  const configDoc = {
    architecture: "",
    config: {},
    created: zero,
    history: layers.map(() => ({ created: zero })),
    os: "",
    rootfs: { diff_ids: layers.map((l) => l.digest), type: "layers" },
  };
  const configBytes = Buffer.from(canonicalJson(configDoc), "utf8");
  const config = { mediaType: MediaType.ImageConfig, digest: digestOf(configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(canonicalJson({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers }), "utf8");
  return {
    config: { descriptor: config, bytes: configBytes },
    manifest: { descriptor: { mediaType: MediaType.ImageManifest, digest: digestOf(manifestBytes), size: manifestBytes.length }, bytes: manifestBytes },
  };
}
