/**
 * The two signature forms and their verdicts, on an in-memory store (any Target with referrers): exact payload
 * and statement bytes, signing both forms, and every way verification refuses — another key, another digest,
 * another repository, a changed payload, a missing blob — each with its reason.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { MemoryStore } from "../../src/oras/memory.js";
import { fetchAll } from "../../src/oras/verify.js";
import { buildSignatureBundle, bundleReferrer, readSignatureBundle, signatureStatement } from "../../src/kit/signature/bundle.js";
import { COSIGN_SIGNATURE_ANNOTATION, KEY_HINT_ANNOTATION, SIGSTORE_BUNDLE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE } from "../../src/kit/signature/format.js";
import { generateKeyPair, parseSigningKey, parseVerifyingKey, type SigningKey } from "../../src/kit/signature/keys.js";
import { signaturesIn, type KitSignatures } from "../../src/kit/signature/location.js";
import { simpleSigningClaims, simpleSigningManifest, simpleSigningPayload } from "../../src/kit/signature/simple-signing.js";
import { writeKitSignatures } from "../../src/kit/signature/sign.js";
import { untrustedError, verifyKitSignatures } from "../../src/kit/signature/verify.js";

const REPO = "registry.example/team/kit";
const DIGEST = `sha256:${"a".repeat(64)}`;

async function newKey(): Promise<SigningKey> {
  const pair = generateKeyPair("pass");
  return parseSigningKey(pair.privateKeyPem, async () => "pass", "test key");
}

/** A store holding a manifest standing in for a kit (signing needs only its descriptor). */
async function kitIn(store: MemoryStore, text: string): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, annotations: { text } }));
  const desc = { mediaType: MediaType.ImageManifest, digest: digestOf(bytes), size: bytes.length };
  await store.push(desc, bytes);
  return desc;
}

function where(store: MemoryStore, subject: Descriptor, identity = REPO): KitSignatures {
  return signaturesIn(store, subject, identity, REPO);
}

describe("payloads", () => {
  it("writes cosign's simple-signing payload, byte for byte", () => {
    expect(simpleSigningPayload(REPO, DIGEST).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"${REPO}"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`,
    );
    expect(simpleSigningClaims(simpleSigningPayload(REPO, DIGEST))).toEqual({ subjects: [{ digest: DIGEST, identity: REPO }] });
    expect(() => simpleSigningClaims(Buffer.from('{"critical":{"type":"x"}}'))).toThrow(/critical.type is "x"/);
  });

  it("writes cosign 3's in-toto statement, naming the repository too", () => {
    expect(signatureStatement(REPO, DIGEST).toString()).toBe(
      `{"_type":"https://in-toto.io/Statement/v1","predicate":{},"predicateType":"https://sigstore.dev/cosign/sign/v1","subject":[{"digest":{"sha256":"${"a".repeat(64)}"},"name":"${REPO}"}]}`,
    );
  });

  it("builds a v0.3 bundle with the key's hint and no log entries, which verifies with that key only", async () => {
    const key = await newKey();
    const bytes = await buildSignatureBundle(key, signatureStatement(REPO, DIGEST));
    const json = JSON.parse(bytes.toString());
    expect(json.mediaType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
    expect(json.verificationMaterial.publicKey.hint).toBe(Buffer.from(key.fingerprint.slice(7), "hex").toString("base64"));
    expect(json.verificationMaterial.tlogEntries ?? []).toEqual([]);
    expect(json.dsseEnvelope.payloadType).toBe("application/vnd.in-toto+json");
    const read = readSignatureBundle(bytes, "bundle");
    expect(read.claimedKey).toBe(key.fingerprint);
    expect(read.verify(key)).toBe(true);
    expect(read.verify(await newKey())).toBe(false);
    expect(read.claims()).toEqual({ subjects: [{ digest: DIGEST, identity: REPO }] });

    json.dsseEnvelope.payload = Buffer.from(signatureStatement(REPO, `sha256:${"b".repeat(64)}`)).toString("base64");
    expect(readSignatureBundle(Buffer.from(JSON.stringify(json)), "bundle").verify(key)).toBe(false);
    expect(() => readSignatureBundle(Buffer.from('{"mediaType":"x"}'), "bundle b")).toThrow(/bundle b is not a valid Sigstore bundle/);
  });
});

describe("signing and verifying in a store", () => {
  it("writes both forms: a .sig manifest with one signature layer, and a bundle referrer of the kit", async () => {
    const store = new MemoryStore("mem");
    const kit = await kitIn(store, "one");
    const key = await newKey();
    const result = await writeKitSignatures(where(store, kit), key);
    expect(result.signatures.map((s) => [s.form, s.added])).toEqual([["simplesigning", true], ["bundle", true]]);
    const tagged = await store.resolve(`sha256-${kit.digest.slice(7)}.sig`);
    const manifest = JSON.parse((await fetchAll(store, tagged)).toString());
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]).toMatchObject({ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, annotations: { [KEY_HINT_ANNOTATION]: key.fingerprint } });
    expect(manifest.config.mediaType).toBe(MediaType.ImageConfig);
    const referrers = await store.predecessors(kit, { artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE });
    expect(referrers.map((r) => r.digest)).toEqual([result.signatures[1]!.manifest]);

    const report = await verifyKitSignatures(where(store, kit), [key]);
    expect(report.verified).toBe(true);
    expect(report.signatures.map((s) => [s.form, s.verdict, s.key])).toEqual([
      ["simplesigning", "verified", key.fingerprint],
      ["bundle", "verified", key.fingerprint],
    ]);
  });

  it("keeps existing signature layers when another key signs, and adds none when the same key signs again", async () => {
    const store = new MemoryStore("mem");
    const kit = await kitIn(store, "two");
    const [a, b] = [await newKey(), await newKey()];
    await writeKitSignatures(where(store, kit), a, { formats: ["simplesigning"] });
    const second = await writeKitSignatures(where(store, kit), b, { formats: ["simplesigning"] });
    const again = await writeKitSignatures(where(store, kit), a, { formats: ["simplesigning"] });
    expect(again.signatures[0]).toEqual({ ...second.signatures[0], added: false });
    const report = await verifyKitSignatures(where(store, kit), [b]);
    expect(report.signatures.map((s) => s.verdict)).toEqual(["wrong-key", "verified"]);
    expect(report.signatures[0]!.reason).toBe(`no given key verifies it: it names key ${a.fingerprint}`);
  });

  it("refuses another key's signatures, with no signature as its own reason", async () => {
    const store = new MemoryStore("mem");
    const kit = await kitIn(store, "three");
    const empty = await verifyKitSignatures(where(store, kit), [await newKey()]);
    expect(empty).toMatchObject({ verified: false, signatures: [] });
    expect(untrustedError(empty)).toMatchObject({ code: "UNTRUSTED", message: expect.stringMatching(/has no signature/) });
    await writeKitSignatures(where(store, kit), await newKey());
    const report = await verifyKitSignatures(where(store, kit), [await newKey()]);
    expect(report.verified).toBe(false);
    expect(report.signatures.map((s) => s.verdict)).toEqual(["wrong-key", "wrong-key"]);
    expect(untrustedError(report).message).toMatch(/^no signature of registry.example\/team\/kit@sha256:\w+ verifies with the given keys for registry.example\/team\/kit: simplesigning sha256:\w{12}: wrong-key/);
  });

  it("refuses a signature copied onto another kit, naming the digest it signs", async () => {
    const store = new MemoryStore("mem");
    const [kit, other] = [await kitIn(store, "signed"), await kitIn(store, "other")];
    const key = await newKey();
    await writeKitSignatures(where(store, kit), key);
    // The .sig manifest of the signed kit, tagged as the other kit's; the bundle's referrer pointed at it too.
    const sig = await store.resolve(`sha256-${kit.digest.slice(7)}.sig`);
    await store.tag(sig, `sha256-${other.digest.slice(7)}.sig`);
    const [bundleRef] = await store.predecessors(kit, { artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE });
    const referrer = JSON.parse((await fetchAll(store, bundleRef!)).toString());
    const moved = Buffer.from(JSON.stringify({ ...referrer, subject: other }));
    await store.push({ mediaType: MediaType.ImageManifest, digest: digestOf(moved), size: moved.length }, moved);

    const report = await verifyKitSignatures(where(store, other), [key]);
    expect(report.verified).toBe(false);
    expect(report.signatures.map((s) => s.verdict)).toEqual(["other-digest", "other-digest"]);
    expect(report.signatures[0]!.reason).toBe(`it signs ${kit.digest}, not this kit (${other.digest})`);
  });

  it("finds a bundle referrer in the image-spec 1.0 form, and refuses it moved onto another kit", async () => {
    const store = new MemoryStore("mem");
    const [kit, other] = [await kitIn(store, "legacy"), await kitIn(store, "legacy-other")];
    const key = await newKey();
    const bundle = await buildSignatureBundle(key, signatureStatement(REPO, kit.digest));
    const { config, layer, manifest } = bundleReferrer(kit, bundle, { form: "image-spec-1.0" });
    const doc = JSON.parse(manifest.bytes.toString());
    expect([doc.artifactType, doc.config.mediaType, doc.subject.digest]).toEqual([undefined, SIGSTORE_BUNDLE_MEDIA_TYPE, kit.digest]);
    for (const part of [config, layer, manifest]) if (!(await store.exists(part.descriptor))) await store.push(part.descriptor, part.bytes);
    const report = await verifyKitSignatures(where(store, kit), [key]);
    expect(report.signatures.map((s) => [s.form, s.manifest, s.verdict])).toEqual([["bundle", manifest.descriptor.digest, "verified"]]);
    // The same bundle in a manifest naming the other kit: listed there, and refused, for its statement signs the first.
    const moved = Buffer.from(JSON.stringify({ ...doc, subject: other }));
    await store.push({ mediaType: MediaType.ImageManifest, digest: digestOf(moved), size: moved.length }, moved);
    const elsewhere = await verifyKitSignatures(where(store, other), [key]);
    expect(elsewhere.signatures.map((s) => s.verdict)).toEqual(["other-digest"]);
  });

  it("refuses a signature for the digest in another repository", async () => {
    const store = new MemoryStore("mem");
    const kit = await kitIn(store, "elsewhere");
    const key = await newKey();
    await writeKitSignatures(where(store, kit, "registry.example/other/kit"), key);
    const report = await verifyKitSignatures(where(store, kit), [key]);
    expect(report.signatures.map((s) => s.verdict)).toEqual(["other-identity", "other-identity"]);
    expect(report.signatures[1]!.reason).toBe(`it signs ${kit.digest} as registry.example/other/kit, not as ${REPO}`);
  });

  it("reads a flipped payload byte as a bad signature of the key it names, and a missing payload as malformed", async () => {
    const store = new MemoryStore("mem");
    const kit = await kitIn(store, "flipped");
    const key = await newKey();
    await writeKitSignatures(where(store, kit), key, { formats: ["simplesigning"] });
    const sig = await store.resolve(`sha256-${kit.digest.slice(7)}.sig`);
    const manifest = JSON.parse((await fetchAll(store, sig)).toString());
    const layer: Descriptor = manifest.layers[0];
    const payload = Buffer.from(await fetchAll(store, layer));
    const at = payload.indexOf("sha256:") + 10;
    payload[at] = payload[at]! ^ 0x01;
    const flipped = { ...layer, digest: digestOf(payload) };
    await store.push(flipped, payload);
    const missing = { ...layer, digest: `sha256:${"c".repeat(64)}` };
    const unsigned = { ...layer, annotations: { [COSIGN_SIGNATURE_ANNOTATION]: "not base64!" } };
    const { config, manifest: rebuilt } = simpleSigningManifest([flipped, missing, unsigned]);
    await store.push(config.descriptor, config.bytes);
    await store.pushReference(rebuilt.descriptor, rebuilt.bytes, `sha256-${kit.digest.slice(7)}.sig`);

    const report = await verifyKitSignatures(where(store, kit), [key]);
    expect(report.signatures.map((s) => s.verdict)).toEqual(["bad-signature", "malformed", "malformed"]);
    expect(report.signatures[0]).toMatchObject({ key: key.fingerprint, reason: expect.stringMatching(/the payload or the signature was changed/) });
    expect(report.signatures[1]!.reason).toMatch(/not found/);
    expect(report.signatures[2]).toMatchObject({ key: null, reason: "the layer has no base64 signature annotation" });
  });

  it("verifies with any one of several keys", async () => {
    const store = new MemoryStore("mem");
    const kit = await kitIn(store, "several");
    const key = await newKey();
    await writeKitSignatures(where(store, kit), key, { formats: ["bundle"] });
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const stranger = parseVerifyingKey(publicKey.export({ type: "spki", format: "pem" }) as string, "x.pub");
    const report = await verifyKitSignatures(where(store, kit), [stranger, key]);
    expect(report).toMatchObject({ verified: true, signatures: [{ form: "bundle", verdict: "verified", key: key.fingerprint }] });
  });
});
