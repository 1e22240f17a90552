/**
 * The names of the two signature forms (spec/kit-signature-v1.md), in a
 * module with no dependencies: the local store needs the tag rule to leave
 * signatures out of its kit listing without loading any crypto.
 *
 * Both forms are cosign's, so cosign, sigstore-go, containers-policy
 * `sigstoreSigned`, Kyverno and Flux read what kit writes:
 * - "simplesigning": cosign 2's `sha256-<hex>.sig` tag, one layer per signature;
 * - "bundle": a Sigstore bundle v0.3 attached as an OCI 1.1 referrer, as cosign 3 writes it.
 */
import { cosignTag, cosignTagSubject } from "../../oras/content.js";

export const SIGNATURE_FORMS = ["simplesigning", "bundle"] as const;
export type SignatureForm = (typeof SIGNATURE_FORMS)[number];

/** The layer media type of a cosign simple-signing payload. */
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** The layer annotation holding the base64 ASN.1 DER ECDSA signature over the payload's bytes. */
export const COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
/**
 * kit's own layer annotation: the fingerprint of the key that made the
 * signature. Not signed — a hint, like the bundle's `publicKey.hint` — so a
 * verifier can tell "another key" from "a changed payload" for signatures kit wrote.
 */
export const KEY_HINT_ANNOTATION = "dev.aegis.kit.signature.key";
/** `critical.type` of a simple-signing payload. */
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";

/** The Sigstore bundle media type, also the referrer's artifactType and its layer's media type. */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
/** The predicate type of a cosign 3 image signature. */
export const COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";
/** Annotations cosign 3 puts on a bundle referrer (BUNDLE_SPEC.md), which kit writes too. */
export const BundleAnnotation = {
  Content: "dev.sigstore.bundle.content",
  PredicateType: "dev.sigstore.bundle.predicateType",
} as const;

/** cosign's signature tag for a manifest digest: `sha256:abc…` → `sha256-abc….sig` (the attachment walk's rule). */
export function signatureTag(digest: string): string {
  return cosignTag(digest, ".sig");
}

/** True for a tag (or a full `REGISTRY/REPO:TAG` ref name) that is a cosign signature tag. */
export function isSignatureTag(name: string): boolean {
  return name.endsWith(".sig") && cosignTagSubject(name) !== undefined;
}
