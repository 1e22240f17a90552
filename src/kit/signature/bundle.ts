/**
 * The Sigstore bundle form, as cosign 3 signs an image with a key: a DSSE
 * envelope (payload type `application/vnd.in-toto+json`) around an in-toto
 * Statement v1 whose subject is the manifest digest and whose predicate type
 * is `https://sigstore.dev/cosign/sign/v1`, in a bundle v0.3 whose
 * verification material is the key's hint. kit also names the repository as
 * the subject's `name` (cosign 3 leaves it out).
 *
 * Built with @sigstore/sign's DSSEBundleBuilder and a caller-side signer with
 * no witnesses, verified with @sigstore/verify against the one public key
 * being tried: no transparency log or timestamp authority is contacted (none
 * is reachable in an airgap). A bundle's transparency log entries and
 * timestamps are therefore not checked — they need the log's and the
 * authority's keys — and are left out of the verification; the key signature
 * is what is verified.
 *
 * DSSEBundleBuilder is imported from its module: the package entry also loads
 * the Fulcio/Rekor HTTP clients (make-fetch-happen, ~1 MB) that offline
 * signing never uses.
 */
import { type Bundle, bundleFromJSON, bundleToJSON } from "@sigstore/bundle";
import { DSSEBundleBuilder } from "@sigstore/sign/dist/bundler/dsse.js";
import { toSignedEntity, Verifier } from "@sigstore/verify";
import { type DescribedBytes, type Descriptor, digestOf, InvalidContentError, isJsonObject, MediaType, parseDigest, parseManifestJson } from "../../oras/content.js";
import { canonicalJson } from "../canonical-json.js";
import type { SignatureClaims, SignedSubject } from "./claims.js";
import { BundleAnnotation, COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, SIGSTORE_BUNDLE_MEDIA_TYPE } from "./format.js";
import { fingerprintOfHint, keyHint, signData, type SigningKey, type VerifyingKey } from "./keys.js";

/** Statement types read: cosign 3 writes v1; v0.1 is what older attestations used. */
const STATEMENT_TYPES = new Set([IN_TOTO_STATEMENT_V1, "https://in-toto.io/Statement/v0.1"]);
const EMPTY_JSON = Buffer.from("{}");
const EMPTY_CONFIG: Descriptor = { mediaType: MediaType.EmptyJSON, digest: digestOf(EMPTY_JSON), size: EMPTY_JSON.length };

/** The in-toto statement signing `digest` in repository `identity`, as canonical JSON. */
export function signatureStatement(identity: string, digest: string): Buffer {
  const { algorithm, hex } = parseDigest(digest);
  const statement = { _type: IN_TOTO_STATEMENT_V1, subject: [{ name: identity, digest: { [algorithm]: hex } }], predicateType: COSIGN_SIGN_PREDICATE_TYPE, predicate: {} };
  return Buffer.from(canonicalJson(statement), "utf8");
}

/** The bundle (JSON bytes) of `statement` signed with `key`, public-key hint and no log entries. */
export async function buildSignatureBundle(key: SigningKey, statement: Buffer): Promise<Buffer> {
  const publicKey = key.publicKey.export({ type: "spki", format: "pem" }) as string;
  const signer = { sign: async (data: Buffer) => ({ signature: signData(key, data), key: { $case: "publicKey" as const, publicKey, hint: keyHint(key) } }) };
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({ data: statement, type: IN_TOTO_PAYLOAD_TYPE });
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)), "utf8");
}

/**
 * The manifest forms of a bundle referrer (spec/kit-signature-v1.md):
 * "oci-1.1", as cosign 3 writes it; "image-spec-1.0", for registries that
 * refuse `artifactType`, with the bundle media type as the config's media
 * type instead (the config still `{}`), with or without `subject`.
 */
export type BundleManifestForm = "oci-1.1" | "image-spec-1.0";

export interface BundleReferrerOptions {
  /** Default "oci-1.1". */
  form?: BundleManifestForm;
  /** Name the kit as `subject` (default true); false only in the 1.0 form, for registries that refuse `subject` too. */
  subject?: boolean;
}

/** The referrer manifest attaching `bundle` to `subject`, laid out as cosign 3 writes it (BUNDLE_SPEC.md) or in the 1.0 form, and its config. */
export function bundleReferrer(subject: Descriptor, bundle: Buffer, opts: BundleReferrerOptions = {}): { config: DescribedBytes; layer: DescribedBytes; manifest: DescribedBytes } {
  const oci11 = (opts.form ?? "oci-1.1") === "oci-1.1";
  const withSubject = oci11 || opts.subject !== false;
  const layer: Descriptor = { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: digestOf(bundle), size: bundle.length };
  const config: Descriptor = oci11 ? EMPTY_CONFIG : { ...EMPTY_CONFIG, mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE };
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    ...(oci11 ? { artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE } : {}),
    config,
    layers: [layer],
    ...(withSubject ? { subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } } : {}),
    annotations: { [BundleAnnotation.Content]: "dsse-envelope", [BundleAnnotation.PredicateType]: COSIGN_SIGN_PREDICATE_TYPE },
  };
  const bytes = Buffer.from(canonicalJson(doc), "utf8");
  return {
    config: { descriptor: config, bytes: EMPTY_JSON },
    layer: { descriptor: layer, bytes: bundle },
    // artifactType on the descriptor is what a referrers listing reports: the config media type in the 1.0 form.
    manifest: { descriptor: { mediaType: MediaType.ImageManifest, digest: digestOf(bytes), size: bytes.length, artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE }, bytes },
  };
}

/** A bundle read and checked for shape; nothing in it is trusted until verify() says so. */
export interface ReadBundle {
  /** The fingerprint its key hint names, when the hint has cosign's form. */
  claimedKey: string | undefined;
  /** Whether its signature verifies with `key`. */
  verify(key: VerifyingKey): boolean;
  /** What it signs; read only after verify(). InvalidContentError when the statement is not an image signature. */
  claims(): SignatureClaims;
}

/** InvalidContentError (naming `what`) for a bundle kit cannot verify: not JSON, not a bundle, not DSSE, not a key signature. */
export function readSignatureBundle(bytes: Uint8Array, what: string): ReadBundle {
  const json = parseManifestJson(bytes, what);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (err) {
    throw new InvalidContentError(`${what} is not a valid Sigstore bundle: ${(err as Error).message}`);
  }
  const material = bundle.verificationMaterial.content;
  if (material.$case !== "publicKey") {
    throw new InvalidContentError(`${what} is signed with a certificate (keyless); kit verifies signatures made with a key`);
  }
  if (bundle.content.$case !== "dsseEnvelope") {
    throw new InvalidContentError(`${what} holds a message signature, which does not say what it signs; kit verifies the DSSE form cosign 3 writes for images`);
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.signatures.length !== 1) throw new InvalidContentError(`${what}: its DSSE envelope has ${envelope.signatures.length} signatures, not 1`);
  // Log entries and timestamps cannot be checked offline (module comment): only the key signature is.
  const entity = toSignedEntity({ ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [], timestampVerificationData: undefined } });
  return {
    claimedKey: fingerprintOfHint(material.publicKey.hint),
    verify: (key) => {
      const trust = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [], publicKey: () => ({ publicKey: key.publicKey, validFor: () => true }) };
      try {
        new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
        return true;
      } catch {
        return false;
      }
    },
    claims: () => {
      if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new InvalidContentError(`${what}: payload type ${JSON.stringify(envelope.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
      return statementClaims(envelope.payload, what);
    },
  };
}

function statementClaims(payload: Uint8Array, what: string): SignatureClaims {
  const doc = parseManifestJson(payload, `the statement in ${what}`);
  if (typeof doc._type !== "string" || !STATEMENT_TYPES.has(doc._type)) throw new InvalidContentError(`${what}: the payload is not an in-toto statement`);
  if (doc.predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
    throw new InvalidContentError(`${what}: the statement's predicate type is ${JSON.stringify(doc.predicateType)}, not an image signature (${COSIGN_SIGN_PREDICATE_TYPE})`);
  }
  if (!Array.isArray(doc.subject)) throw new InvalidContentError(`${what}: the statement has no subject list`);
  const subjects: SignedSubject[] = [];
  for (const entry of doc.subject) {
    if (!isJsonObject(entry) || !isJsonObject(entry.digest)) continue;
    const identity = typeof entry.name === "string" && entry.name !== "" ? entry.name : null;
    for (const [algorithm, hex] of Object.entries(entry.digest)) {
      if (typeof hex === "string") subjects.push({ digest: `${algorithm}:${hex}`, identity });
    }
  }
  return { subjects };
}
