/**
 * Verifying a kit's signatures: every signature found in either form is
 * checked against each given public key, and then what it signs against the
 * kit: the exact manifest digest, and the repository it names. A kit is
 * trusted when at least one signature verifies; each one's verdict says why
 * it counts or not.
 *
 * Verdicts, in the order they are decided:
 * - malformed: it cannot be read as a signature (missing or damaged blob, not a bundle, no signature);
 * - wrong-key: no given key verifies it, and it does not claim one of them (another key made it);
 * - bad-signature: no given key verifies it, though it claims one of them (its payload or signature was changed);
 * - other-digest: a given key made it, over another manifest (a signature copied onto another kit);
 * - other-identity: a given key made it, for this digest in another repository;
 * - verified.
 * A payload is only read for what it claims after its signature verified.
 */
import { UntrustedError } from "../../oras/content.js";
import { normalizeIdentity } from "./claims.js";
import { findSignatures, type FoundSignature } from "./find.js";
import { SIGSTORE_BUNDLE_MEDIA_TYPE, type SignatureForm } from "./format.js";
import type { VerifyingKey } from "./keys.js";
import { openKitSignatures, type KitSignatures, type OpenSignaturesOptions } from "./location.js";

export type Verdict = "verified" | "wrong-key" | "bad-signature" | "other-digest" | "other-identity" | "malformed";

export interface SignatureCheck {
  form: SignatureForm;
  /** Digest of the manifest holding the signature. */
  manifest: string;
  /** Digest of its payload or bundle blob (null when there is none to name). */
  blob: string | null;
  /** The key that verified it, else the key it claims to be from (a hint, for kit's and cosign 3's signatures), else null. */
  key: string | null;
  verdict: Verdict;
  reason: string;
}

export interface SignatureReport {
  /** The kit, by digest, where its signatures were read. */
  reference: string;
  digest: string;
  identity: string;
  /** True when at least one signature verified. */
  verified: boolean;
  signatures: SignatureCheck[];
}

/**
 * Check every signature of the kit `where` names against `keys`. Never
 * throws for what the signatures are (the report says it); untrustedError()
 * turns a report that is not verified into the error to throw.
 */
export async function verifyKitSignatures(where: KitSignatures, keys: readonly VerifyingKey[], opts: { signal?: AbortSignal } = {}): Promise<SignatureReport> {
  const found = await findSignatures(where, opts);
  const signatures = found.map((s) => check(s, where, keys));
  return { reference: where.reference, digest: where.subject.digest, identity: where.identity, verified: signatures.some((s) => s.verdict === "verified"), signatures };
}

/** Open the kit `reference` names (registry, layout or store) and verify its signatures; see openKitSignatures(). */
export async function verifyKit(reference: Parameters<typeof openKitSignatures>[0], keys: readonly VerifyingKey[], opts: OpenSignaturesOptions = {}): Promise<SignatureReport> {
  return verifyKitSignatures(await openKitSignatures(reference, opts), keys);
}

function check(found: FoundSignature, where: KitSignatures, keys: readonly VerifyingKey[]): SignatureCheck {
  const base = { form: found.form, manifest: found.manifest, blob: found.blob };
  if (found.unreadable !== undefined) return { ...base, key: null, verdict: "malformed", reason: found.unreadable };
  const by = keys.find((k) => found.verify(k));
  if (by === undefined) {
    const claimed = found.claimedKey ?? null;
    if (claimed !== null && keys.some((k) => k.fingerprint === claimed)) {
      return { ...base, key: claimed, verdict: "bad-signature", reason: `it names key ${claimed}, one of the given keys, but its signature does not verify: the payload or the signature was changed` };
    }
    const named = claimed !== null ? `it names key ${claimed}` : "it names no key (a changed payload or signature looks the same)";
    return { ...base, key: claimed, verdict: "wrong-key", reason: `no given key verifies it: ${named}` };
  }
  let claims;
  try {
    claims = found.claims();
  } catch (err) {
    return { ...base, key: by.fingerprint, verdict: "malformed", reason: `signed by ${by.fingerprint}, but ${(err as Error).message}` };
  }
  const digests = claims.subjects.map((s) => s.digest);
  const subject = claims.subjects.find((s) => s.digest === where.subject.digest);
  if (subject === undefined) {
    return { ...base, key: by.fingerprint, verdict: "other-digest", reason: `it signs ${digests.join(", ") || "no digest"}, not this kit (${where.subject.digest})` };
  }
  if (subject.identity !== null && normalizeIdentity(subject.identity) !== normalizeIdentity(where.identity)) {
    return { ...base, key: by.fingerprint, verdict: "other-identity", reason: `it signs ${where.subject.digest} as ${subject.identity}, not as ${where.identity}` };
  }
  const scope = subject.identity === null ? " (it names no repository: the digest alone is signed)" : "";
  return { ...base, key: by.fingerprint, verdict: "verified", reason: `verified with key ${by.fingerprint}${scope}` };
}

/** The error for a report with no verified signature: exit 7, naming what was found and why each is refused. */
export function untrustedError(report: SignatureReport): UntrustedError {
  if (report.signatures.length === 0) {
    return new UntrustedError(`${report.reference} has no signature (neither a cosign signature tag nor a ${SIGSTORE_BUNDLE_MEDIA_TYPE} referrer)`, {
      hint: 'sign it with "kit sign REF --key KEY"',
    });
  }
  const shown = report.signatures.slice(0, 3).map((s) => `${s.form} ${s.manifest.slice(0, 19)}: ${s.verdict}: ${s.reason}`);
  const more = report.signatures.length > shown.length ? `; and ${report.signatures.length - shown.length} more` : "";
  return new UntrustedError(`no signature of ${report.reference} verifies with the given keys for ${report.identity}: ${shown.join("; ")}${more}`, {
    hint: "--json lists every signature with its key and verdict",
  });
}
