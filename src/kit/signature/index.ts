/**
 * Kit signatures (spec/kit-signature-v1.md), published as
 * `@aegis/kit/signature`: a separate entry, so `@aegis/kit` does not load
 * sigstore-js for callers that never sign or verify.
 */
export { COSIGN_KEY_LABELS } from "./cosign-key.js";
export {
  fingerprintOfHint,
  generateKeyPair,
  keyFingerprint,
  keyHint,
  parseSigningKey,
  parseVerifyingKey,
  readSigningKey,
  readVerifyingKey,
  writeKeyPair,
  type PassphraseSource,
  type SigningKey,
  type VerifyingKey,
  type WrittenKeyPair,
} from "./keys.js";
export {
  BundleAnnotation,
  COSIGN_SIGN_PREDICATE_TYPE,
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIGNATURE_TYPE,
  isSignatureTag,
  KEY_HINT_ANNOTATION,
  SIGNATURE_FORMS,
  signatureTag,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type SignatureForm,
} from "./format.js";
export { normalizeIdentity, parseIdentity, type SignatureClaims, type SignedSubject } from "./claims.js";
export { simpleSigningPayload, simpleSigningClaims } from "./simple-signing.js";
export { signatureStatement, readSignatureBundle, type BundleManifestForm, type ReadBundle } from "./bundle.js";
export { openKitSignatures, signaturesIn, signaturesInStore, type KitSignatures, type OpenSignaturesOptions, type SignatureTarget } from "./location.js";
export { findSignatures, type FoundSignature } from "./find.js";
export { untrustedError, verifyKit, verifyKitSignatures, type SignatureCheck, type SignatureReport, type Verdict } from "./verify.js";
export { signKit, writeKitSignatures, type SignOptions, type SignResult, type WrittenSignature } from "./sign.js";
