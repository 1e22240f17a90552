/**
 * Signing a kit by digest with a key, in either or both of cosign's forms
 * (spec/kit-signature-v1.md), into the storage that holds it:
 * - simple signing: a layer added to the manifest under the signature tag,
 *   every layer already there kept (other keys' signatures); signing again
 *   with a key whose signature of the same payload is there adds nothing;
 * - bundle: a new referrer of the kit (the registry indexes it, or its
 *   `sha256-<hex>` fallback index is updated; a layout records its subject).
 * Concurrent signers of one kit can lose each other's simple-signing layer
 * (the tag is read, extended and written, as cosign does it); their bundles
 * are separate referrers and are all kept.
 */
import { type DescribedBytes, digestOf, type ReferencePusher, RegistryError } from "../../oras/content.js";
import { RemoteRepository, refusesOci11Fields } from "../../oras/remote/index.js";
import { buildSignatureBundle, type BundleManifestForm, bundleReferrer, signatureStatement } from "./bundle.js";
import { readSignatureManifest } from "./find.js";
import { BundleAnnotation, COSIGN_SIGN_PREDICATE_TYPE, SIGNATURE_FORMS, type SignatureForm, SIGSTORE_BUNDLE_MEDIA_TYPE } from "./format.js";
import { verifyData, type SigningKey } from "./keys.js";
import { openKitSignatures, type KitSignatures, type OpenSignaturesOptions } from "./location.js";
import { layerSignature, simpleSigningLayer, simpleSigningManifest, simpleSigningPayload } from "./simple-signing.js";

export interface SignOptions {
  /** The forms to write; default both. */
  formats?: readonly SignatureForm[];
}

export interface WrittenSignature {
  form: SignatureForm;
  /** Digest of the manifest now holding the signature. */
  manifest: string;
  /** The tag it is under (the simple-signing form); absent for a referrer. */
  tag?: string;
  /** False when an equal signature by this key was already there (simple signing), so nothing was added. */
  added: boolean;
  /** The bundle referrer's manifest form: "image-spec-1.0" where the registry refused OCI 1.1 fields. */
  manifestForm?: BundleManifestForm;
  /**
   * How the bundle referrer is found: "subject" (its manifest names the kit), or "referrers-index" (the registry
   * refused `subject` too: it is listed in the kit's `sha256-<hex>` fallback index alone, and travels only by digest).
   */
  listedBy?: "subject" | "referrers-index";
}

export interface SignResult {
  /** The kit signed, by digest, where its signatures were written. */
  reference: string;
  digest: string;
  identity: string;
  /** Fingerprint of the signing key. */
  key: string;
  signatures: WrittenSignature[];
  /** What did not stop the signing but is worth a look (a registry that refused OCI 1.1 fields). */
  warnings: string[];
}

/** Sign the kit `where` names with `key`. */
export async function writeKitSignatures(where: KitSignatures, key: SigningKey, opts: SignOptions = {}): Promise<SignResult> {
  const formats = SIGNATURE_FORMS.filter((f) => (opts.formats ?? SIGNATURE_FORMS).includes(f));
  const warnings: string[] = [];
  const signatures = await where.exclusive(async () => {
    const written: WrittenSignature[] = [];
    if (formats.includes("simplesigning")) written.push(await addSimpleSignature(where, key));
    if (formats.includes("bundle")) written.push(await addBundle(where, key, warnings));
    return written;
  });
  return { reference: where.reference, digest: where.subject.digest, identity: where.identity, key: key.fingerprint, signatures, warnings };
}

/** Open the kit `reference` names (registry, layout or store; see openKitSignatures()) and sign it there. */
export async function signKit(reference: Parameters<typeof openKitSignatures>[0], key: SigningKey, opts: SignOptions & OpenSignaturesOptions = {}): Promise<SignResult> {
  return writeKitSignatures(await openKitSignatures(reference, opts), key, opts);
}

async function addSimpleSignature(where: KitSignatures, key: SigningKey): Promise<WrittenSignature> {
  const payload = simpleSigningPayload(where.identity, where.subject.digest);
  const existing = await readSignatureManifest(where);
  if (existing?.problem !== undefined) {
    throw new RegistryError(`cannot add a signature under ${where.signatureTag} in ${where.target.name}: ${existing.problem}`, undefined, {
      hint: "that tag is cosign's signature tag for the kit; remove what is there, or sign with --format bundle",
    });
  }
  const layers = existing?.layers ?? [];
  // The payload is canonical, so an equal one has the same digest; its signature must be this key's.
  const payloadDigest = digestOf(payload);
  const signed = layers.some((l) => l.digest === payloadDigest && verifyData(key, payload, layerSignature(l) ?? Buffer.alloc(0)));
  if (signed && existing !== undefined) return { form: "simplesigning", manifest: existing.descriptor.digest, tag: where.signatureTag, added: false };
  const layer = simpleSigningLayer(payload, key);
  const { config, manifest } = simpleSigningManifest([...layers, layer]);
  await pushBlob(where, config);
  await pushBlob(where, { descriptor: layer, bytes: payload });
  await pushTagged(where, manifest, where.signatureTag);
  return { form: "simplesigning", manifest: manifest.descriptor.digest, tag: where.signatureTag, added: true };
}

async function addBundle(where: KitSignatures, key: SigningKey, warnings: string[]): Promise<WrittenSignature> {
  const bundle = await buildSignatureBundle(key, signatureStatement(where.identity, where.subject.digest));
  const target = where.target;
  const features = target instanceof RemoteRepository ? target.features : undefined;
  if (features === undefined || features.imageSpec11 !== "unsupported") {
    // A manifest with a subject: the registry (or the fallback index the repository maintains) lists it as a referrer.
    const referrer = bundleReferrer(where.subject, bundle);
    try {
      await pushReferrer(where, referrer);
      if (features !== undefined) features.imageSpec11 = "supported";
      return { form: "bundle", manifest: referrer.manifest.descriptor.digest, added: true, manifestForm: "oci-1.1", listedBy: "subject" };
    } catch (err) {
      if (features === undefined || !refusesOci11Fields(err)) throw err;
      // Once per registry, and remembered: the next signature goes straight to the 1.0 form.
      features.imageSpec11 = "unsupported";
      warnings.push(`${target.name} refused the OCI 1.1 manifest fields (${(err as Error).message}); the bundle was written in the image-spec 1.0 form`);
    }
  }
  const repo = target as RemoteRepository;
  if (features!.subjectIn10 !== "unsupported") {
    const referrer = bundleReferrer(where.subject, bundle, { form: "image-spec-1.0" });
    try {
      await pushReferrer(where, referrer);
      features!.subjectIn10 = "supported";
      return { form: "bundle", manifest: referrer.manifest.descriptor.digest, added: true, manifestForm: "image-spec-1.0", listedBy: "subject" };
    } catch (err) {
      if (!refusesOci11Fields(err)) throw err;
      features!.subjectIn10 = "unsupported";
    }
  }
  // Neither field: the manifest alone, listed in the kit's fallback index. The bundle's statement names the kit's digest,
  // which is what binds it to the kit (verify checks it), so a listing without a subject is enough to find it.
  const referrer = bundleReferrer(where.subject, bundle, { form: "image-spec-1.0", subject: false });
  await pushReferrer(where, referrer);
  const { mediaType, digest, size } = referrer.manifest.descriptor;
  const annotations = { [BundleAnnotation.Content]: "dsse-envelope", [BundleAnnotation.PredicateType]: COSIGN_SIGN_PREDICATE_TYPE };
  await repo.listReferrer(where.subject, { mediaType, digest, size, artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE, annotations });
  warnings.push(`${target.name} refused "subject" too: the bundle is listed in the kit's referrers index ${referrersTagOf(where)} only, and a copy of the kit carries it only when named by digest`);
  return { form: "bundle", manifest: digest, added: true, manifestForm: "image-spec-1.0", listedBy: "referrers-index" };
}

async function pushReferrer(where: KitSignatures, referrer: ReturnType<typeof bundleReferrer>): Promise<void> {
  await pushBlob(where, referrer.config);
  await pushBlob(where, referrer.layer);
  await where.target.push(referrer.manifest.descriptor, referrer.manifest.bytes);
}

function referrersTagOf(where: KitSignatures): string {
  return where.signatureTag.replace(/\.sig$/, "");
}

async function pushBlob(where: KitSignatures, blob: DescribedBytes): Promise<void> {
  if (!(await where.target.exists(blob.descriptor))) await where.target.push(blob.descriptor, blob.bytes);
}

/** A manifest under a tag: one request to a registry, one index write to a layout. */
async function pushTagged(where: KitSignatures, manifest: DescribedBytes, tag: string): Promise<void> {
  const target = where.target;
  if (target instanceof RemoteRepository) return target.pushManifest(manifest.descriptor, manifest.bytes, { tag });
  if (isReferencePusher(target)) return target.pushReference(manifest.descriptor, manifest.bytes, tag);
  await target.push(manifest.descriptor, manifest.bytes);
  await target.tag(manifest.descriptor, tag);
}

function isReferencePusher(target: object): target is ReferencePusher {
  return typeof (target as Partial<ReferencePusher>).pushReference === "function";
}
