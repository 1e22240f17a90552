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
import { RemoteRepository } from "../../oras/remote/index.js";
import { buildSignatureBundle, bundleReferrer, signatureStatement } from "./bundle.js";
import { readSignatureManifest } from "./find.js";
import { SIGNATURE_FORMS, type SignatureForm } from "./format.js";
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
}

export interface SignResult {
  /** The kit signed, by digest, where its signatures were written. */
  reference: string;
  digest: string;
  identity: string;
  /** Fingerprint of the signing key. */
  key: string;
  signatures: WrittenSignature[];
}

/** Sign the kit `where` names with `key`. */
export async function writeKitSignatures(where: KitSignatures, key: SigningKey, opts: SignOptions = {}): Promise<SignResult> {
  const formats = SIGNATURE_FORMS.filter((f) => (opts.formats ?? SIGNATURE_FORMS).includes(f));
  const signatures = await where.exclusive(async () => {
    const written: WrittenSignature[] = [];
    if (formats.includes("simplesigning")) written.push(await addSimpleSignature(where, key));
    if (formats.includes("bundle")) written.push(await addBundle(where, key));
    return written;
  });
  return { reference: where.reference, digest: where.subject.digest, identity: where.identity, key: key.fingerprint, signatures };
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

async function addBundle(where: KitSignatures, key: SigningKey): Promise<WrittenSignature> {
  const bundle = await buildSignatureBundle(key, signatureStatement(where.identity, where.subject.digest));
  const { config, layer, manifest } = bundleReferrer(where.subject, bundle);
  await pushBlob(where, config);
  await pushBlob(where, layer);
  // A manifest with a subject: the registry (or the fallback index the repository maintains) lists it as a referrer.
  await where.target.push(manifest.descriptor, manifest.bytes);
  return { form: "bundle", manifest: manifest.descriptor.digest, added: true };
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
