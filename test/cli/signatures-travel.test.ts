/**
 * Signatures travel (issue 12): a kit pinned to a 2-platform base image, the kit signed with `kit sign` in both
 * forms, the base image (its index) signed as cosign signs an image — a simple-signing manifest under
 * `sha256-<hex>.sig` and a Sigstore bundle referrer, built here from the published formats with the project's
 * helpers and a key from `kit key generate` (there is no cosign binary). Then, from real docker-registry 2.8
 * instances: kit mirror to a second registry, kit save, kit copy -r — and the source registry is STOPPED before
 * anything is checked, so every verification reads the mirror, the store or the third registry alone.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Descriptor } from "../../src/oras/descriptor.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { fetchAll } from "../../src/oras/verify.js";
import { OciLayout } from "../../src/oras/layout/index.js";
import { buildSignatureBundle, bundleReferrer, readSignatureBundle, signatureStatement } from "../../src/kit/signature/bundle.js";
import { readSigningKey, readVerifyingKey, type SigningKey } from "../../src/kit/signature/keys.js";
import { simpleSigningLayer, simpleSigningManifest, simpleSigningPayload } from "../../src/kit/signature/simple-signing.js";
import { buildImageIndex, type BuiltImageIndex } from "../support/images.js";
import { runKit, type CliResult } from "../support/cli.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const run = promisify(execFile);
const PASSPHRASE = "travel passphrase";
const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

let src: RunningRegistry;
let mirror: RunningRegistry;
let site: RunningRegistry;
let work: string;
let image: BuiltImageIndex;
let kitDigest: string;
/** The manifests holding the kit's two signatures, as kit sign wrote them. */
let kitSigned: { simplesigning: string; bundle: string };
/** The base image's signature manifests, as written at the source. */
let baseSig: Descriptor;
let baseBundle: Descriptor;
let mirrored: CliResult;
let saved: CliResult;
let copied: CliResult;
const bundleFile = () => path.join(work, "famiglia.tar");

const sigTag = (digest: string) => `sha256-${digest.slice("sha256:".length)}.sig`;
const key = (name: string) => path.join(work, name);
const kitRepo = () => `${src.host}/org/famiglia-kit`;

function kit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runKit(args, { env: { KIT_STORE: path.join(work, "store"), KIT_KEY_PASSWORD: PASSPHRASE, KIT_CONFIG: "", ...env }, cwd: work });
}

async function pushBlob(repo: RemoteRepository, desc: Descriptor, bytes: Uint8Array): Promise<void> {
  if (!(await repo.exists(desc))) await repo.push(desc, bytes);
}

/** The base image signed the way cosign 2 signs it: one simple-signing layer under sha256-<hex>.sig. */
async function signBaseSimple(repo: RemoteRepository, signer: SigningKey): Promise<Descriptor> {
  const payload = simpleSigningPayload(`${src.host}/kit/base`, image.digest);
  const layer = simpleSigningLayer(payload, signer);
  const { config, manifest } = simpleSigningManifest([layer]);
  await pushBlob(repo, config.descriptor, config.bytes);
  await pushBlob(repo, layer, payload);
  await repo.pushManifest(manifest.descriptor, manifest.bytes, { tag: sigTag(image.digest) });
  return manifest.descriptor;
}

/** The base image signed the way cosign 3 signs it: a bundle referrer (here through the fallback index). */
async function signBaseBundle(repo: RemoteRepository, signer: SigningKey): Promise<Descriptor> {
  const bundle = await buildSignatureBundle(signer, signatureStatement(`${src.host}/kit/base`, image.digest));
  const { config, layer, manifest } = bundleReferrer(image.index, bundle);
  await pushBlob(repo, config.descriptor, config.bytes);
  await pushBlob(repo, layer.descriptor, layer.bytes);
  await repo.push(manifest.descriptor, manifest.bytes);
  return manifest.descriptor;
}

function verdicts(result: CliResult): [string, string][] {
  return (JSON.parse(result.stdout) as { signatures: { form: string; verdict: string }[] }).signatures.map((s) => [s.form, s.verdict]);
}

/** The base image's signatures at `host` under `prefix`: same manifests, and each verifies with the publisher's key by tools other than kit. */
async function expectBaseSignaturesAt(host: string, prefix: string): Promise<void> {
  const repo = new RemoteRepository({ registry: host, repository: `${prefix}kit/base` });
  const sig = await repo.resolve(sigTag(image.digest));
  expect(sig.digest).toBe(baseSig.digest);
  const { bytes } = await repo.fetchManifest(sigTag(image.digest));
  const [layer] = (JSON.parse(bytes.toString("utf8")) as { layers: Descriptor[] }).layers;
  const payload = await fetchAll(repo, layer!);
  const dir = await mkdtemp(path.join(work, "openssl-"));
  await writeFile(path.join(dir, "payload"), payload);
  await writeFile(path.join(dir, "sig.der"), Buffer.from(layer!.annotations!["dev.cosignproject.cosign/signature"]!, "base64"));
  const { stdout } = await run("openssl", ["dgst", "-sha256", "-verify", key("publisher.pub"), "-signature", path.join(dir, "sig.der"), path.join(dir, "payload")]);
  expect(stdout.trim()).toBe("Verified OK");
  const other = await run("openssl", ["dgst", "-sha256", "-verify", key("other.pub"), "-signature", path.join(dir, "sig.der"), path.join(dir, "payload")]).catch((e: { stdout: string }) => e);
  expect(other.stdout.trim()).toBe("Verification failure");
  // The bundle referrer is listed under the index at the destination too, and its DSSE signature verifies.
  const referrers = await repo.predecessors(image.index, { artifactType: BUNDLE_TYPE });
  expect(referrers.map((r) => r.digest)).toEqual([baseBundle.digest]);
  const manifest = JSON.parse((await repo.fetchManifest(baseBundle.digest)).bytes.toString("utf8")) as { layers: Descriptor[]; subject: Descriptor };
  expect(manifest.subject.digest).toBe(image.digest);
  const read = readSignatureBundle(await fetchAll(repo, manifest.layers[0]!), "the base image's bundle");
  expect([read.verify(await readVerifyingKey(key("publisher.pub"))), read.verify(await readVerifyingKey(key("other.pub")))]).toEqual([true, false]);
  expect(read.claims().subjects.map((s) => s.digest)).toEqual([image.digest]);
}

beforeAll(async () => {
  [src, mirror, site] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
  work = await mkdtemp(path.join(tmpdir(), "kit-sig-travel-"));
  image = await buildImageIndex({ url: src.url, repo: "kit/base" }, { tag: "1", seed: "signatures-travel" });
  expect(image.images).toHaveLength(2);
  for (const name of ["publisher", "other"]) {
    const generated = await kit(["key", "generate", "-o", key(name)]);
    expect(generated.code, generated.stderr).toBe(0);
  }
  const dir = path.join(work, "kit");
  await mkdir(dir);
  await writeFile(path.join(dir, "kit.yaml"), `name: famiglia\nversion: "1.0.0"\nimage: ${src.host}/kit/base:1\n`);
  await writeFile(path.join(dir, "README.md"), "# famiglia\n");
  const pushed = await kit(["push", `${kitRepo()}:1.0.0`, dir, "--json"]);
  expect(pushed.code, pushed.stderr).toBe(0);
  kitDigest = (JSON.parse(pushed.stdout) as { digest: string }).digest;
  const signed = await kit(["sign", `${kitRepo()}:1.0.0`, "--key", key("publisher.key"), "--json"]);
  expect(signed.code, signed.stderr).toBe(0);
  const written = (JSON.parse(signed.stdout) as { signatures: { form: "simplesigning" | "bundle"; manifest: string }[] }).signatures;
  kitSigned = Object.fromEntries(written.map((s) => [s.form, s.manifest])) as typeof kitSigned;
  expect(Object.keys(kitSigned).sort()).toEqual(["bundle", "simplesigning"]);

  const signer = await readSigningKey(key("publisher.key"), async () => PASSPHRASE);
  const base = new RemoteRepository({ registry: src.host, repository: "kit/base" });
  baseSig = await signBaseSimple(base, signer);
  baseBundle = await signBaseBundle(base, signer);

  // Everything that reads the source, before it goes away.
  mirrored = await kit(["mirror", `${kitRepo()}:1.0.0`, "--to", `${mirror.host}/airgap`, "--json"]);
  saved = await kit(["save", `${kitRepo()}:1.0.0`, "-o", bundleFile(), "--json"]);
  copied = await kit(["copy", "-r", `${kitRepo()}:1.0.0`, `${mirror.host}/copied/famiglia-kit:1.0.0`, "--json"]);
  await src.stop();
});

afterAll(async () => {
  await Promise.all([src?.stop(), mirror?.stop(), site?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe("after kit mirror, with the source registry stopped", () => {
  it("kit verify on the mirrored reference verifies both forms with the publisher's key, and refuses another key (exit 7)", async () => {
    expect(mirrored.code, mirrored.stderr).toBe(0);
    const at = `${mirror.host}/airgap/org/famiglia-kit`;
    const good = await kit(["verify", `${at}:1.0.0`, "--key", key("publisher.pub"), "--identity", kitRepo(), "--json"]);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ reference: `${at}@${kitDigest}`, digest: kitDigest, identity: kitRepo(), verified: true });
    expect(verdicts(good)).toEqual([
      ["simplesigning", "verified"],
      ["bundle", "verified"],
    ]);
    // The very manifests kit sign wrote, by digest.
    expect((JSON.parse(good.stdout) as { signatures: { manifest: string }[] }).signatures.map((s) => s.manifest)).toEqual([kitSigned.simplesigning, kitSigned.bundle]);
    const wrong = await kit(["verify", `${at}:1.0.0`, "--key", key("other.pub"), "--identity", kitRepo(), "--json"]);
    expect(wrong.code).toBe(7);
    expect(verdicts(wrong)).toEqual([
      ["simplesigning", "wrong-key"],
      ["bundle", "wrong-key"],
    ]);
    // The signatures name the publisher's repository: the mirror's name is another identity.
    const renamed = await kit(["verify", `${at}:1.0.0`, "--key", key("publisher.pub"), "--json"]);
    expect(renamed.code).toBe(7);
    expect(verdicts(renamed)).toEqual([
      ["simplesigning", "other-identity"],
      ["bundle", "other-identity"],
    ]);
  });

  it("kit verify by the publisher's name reads the config file's mirror, and the identity is the publisher's", async () => {
    const config = path.join(work, "mirrors.yaml");
    await writeFile(config, `registries: ${JSON.stringify({ [src.host]: { mirrors: [`${mirror.host}/airgap`], fallback: false } })}\n`);
    for (const ref of [`${kitRepo()}@${kitDigest}`, `${kitRepo()}:1.0.0`]) {
      const good = await kit(["verify", ref, "--key", key("publisher.pub"), "--json"], { KIT_CONFIG: config });
      expect(good.code, good.stderr).toBe(0);
      expect(JSON.parse(good.stdout)).toMatchObject({ reference: `${mirror.host}/airgap/org/famiglia-kit@${kitDigest}`, identity: kitRepo(), verified: true });
      expect(verdicts(good)).toEqual([
        ["simplesigning", "verified"],
        ["bundle", "verified"],
      ]);
    }
    expect((await kit(["verify", `${kitRepo()}@${kitDigest}`, "--key", key("other.pub")], { KIT_CONFIG: config })).code).toBe(7);
    // Without the config file the stopped source is all there is: a network failure, not a verdict.
    const offline = await kit(["verify", `${kitRepo()}@${kitDigest}`, "--key", key("publisher.pub")]);
    expect(offline.code).not.toBe(0);
    expect(offline.code).not.toBe(7);
  });

  it("the base image's .sig manifest and bundle referrer are at the mirror, same digests, and verify with the publisher's key", async () => {
    const kinds = (JSON.parse(mirrored.stdout) as { roots: { kind: string; source: string }[] }).roots;
    expect(kinds.filter((r) => r.kind === "attachment")).toHaveLength(4);
    await expectBaseSignaturesAt(mirror.host, "airgap/");
  });
});

describe("after kit save, with the source registry stopped", () => {
  it("kit load into an empty store: kit verify NAME@DIGEST verifies both forms there", async () => {
    expect(saved.code, saved.stderr).toBe(0);
    const attachments = (JSON.parse(saved.stdout) as { entries: { kind: string; digest: string }[] }).entries.filter((e) => e.kind === "attachment");
    expect(attachments.map((e) => e.digest).sort()).toEqual([kitSigned.simplesigning, kitSigned.bundle, baseSig.digest, baseBundle.digest].sort());
    const store = path.join(work, "load-store");
    const loaded = await kit(["load", bundleFile()], { KIT_STORE: store });
    expect(loaded.code, loaded.stderr).toBe(0);
    const good = await kit(["verify", `famiglia@${kitDigest}`, "--key", key("publisher.pub"), "--json"], { KIT_STORE: store });
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ digest: kitDigest, identity: kitRepo(), verified: true });
    expect(verdicts(good)).toEqual([
      ["simplesigning", "verified"],
      ["bundle", "verified"],
    ]);
    expect((await kit(["verify", `famiglia@${kitDigest}`, "--key", key("other.pub")], { KIT_STORE: store })).code).toBe(7);
    // The base image's signature is in the store under its full name, for `kit load --to` later or any layout reader.
    const names = (await (await OciLayout.open(store)).listReferences()).map((r) => r.name);
    expect(names).toContain(`${src.host}/kit/base:${sigTag(image.digest)}`);
  });

  it("kit load --to a third registry: kit verify there verifies both forms, and the base image's signatures are there", async () => {
    const loaded = await kit(["load", bundleFile(), "--to", `${site.host}/site`]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const good = await kit(["verify", `${site.host}/site/org/famiglia-kit@${kitDigest}`, "--key", key("publisher.pub"), "--identity", kitRepo(), "--json"]);
    expect(good.code, good.stderr).toBe(0);
    expect(verdicts(good)).toEqual([
      ["simplesigning", "verified"],
      ["bundle", "verified"],
    ]);
    expect((await kit(["verify", `${site.host}/site/org/famiglia-kit@${kitDigest}`, "--key", key("other.pub"), "--identity", kitRepo()])).code).toBe(7);
    await expectBaseSignaturesAt(site.host, "site/");
  });
});

describe("after kit copy -r, with the source registry stopped", () => {
  // copy -r follows referrers (oras copy -r's rule) and cosign's tag-named attachments: both forms.
  it("the kit's signatures in both forms came along and verify at the destination", async () => {
    expect(copied.code, copied.stderr).toBe(0);
    const referrers = (JSON.parse(copied.stdout) as { referrers: { digest: string; artifactType: string | null; tag?: string }[] }).referrers;
    expect(referrers).toContainEqual(expect.objectContaining({ digest: kitSigned.bundle, artifactType: BUNDLE_TYPE }));
    expect(referrers).toContainEqual(expect.objectContaining({ tag: `sha256-${kitDigest.slice(7)}.sig` }));
    const good = await kit(["verify", `${mirror.host}/copied/famiglia-kit:1.0.0`, "--key", key("publisher.pub"), "--identity", kitRepo(), "--json"]);
    expect(good.code, good.stderr).toBe(0);
    expect(verdicts(good)).toEqual(expect.arrayContaining([["bundle", "verified"], ["simplesigning", "verified"]]));
  });
});

