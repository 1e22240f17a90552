/**
 * kit sign and kit verify on registries that refuse OCI 1.1 manifest fields (played by a proxy in front of the real
 * docker-registry 2.8, which has no referrers API): the Sigstore bundle referrer falls back to the image-spec 1.0
 * form — the bundle media type as the config's, no artifactType — keeping `subject` where the registry takes it, and
 * listed in the kit's sha256-<hex> fallback index alone where it refuses that too; the simple-signing form is the
 * same as anywhere. What was refused is remembered for the rest of the process.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Descriptor } from "../../src/oras/descriptor.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { runKit, type CliResult } from "../support/cli.js";
import { startOci11Refuser, type Oci11Refuser } from "../support/oci11-refuser.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const PASSPHRASE = "legacy passphrase";
const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SIMPLE_SIGNING_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";

let upstream: RunningRegistry;
let other: RunningRegistry;
/** Refuses artifactType and subject. */
let strict: Oci11Refuser;
/** Refuses artifactType only. */
let typeless: Oci11Refuser;
let work: string;

const key = (name: string) => path.join(work, name);
const hex = (digest: string) => digest.slice("sha256:".length);

function kit(args: string[]): Promise<CliResult> {
  return runKit(args, { env: { KIT_STORE: path.join(work, "store"), KIT_KEY_PASSWORD: PASSPHRASE, KIT_CONFIG: "" }, cwd: work });
}

async function kitDir(name: string): Promise<string> {
  const dir = path.join(work, "kits", name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "kit.yaml"), `name: ${name}\nversion: "1.0.0"\nimage: ghcr.io/org/base:1\n`);
  await writeFile(path.join(dir, "README.md"), `# ${name}\n`);
  return dir;
}

/** Push a kit through `via` (in the 1.0 form, as such a registry takes it) and return its digest. */
async function pushThrough(via: Oci11Refuser, name: string): Promise<string> {
  const pushed = await kit(["push", `${via.host}/kits/${name}:1.0.0`, await kitDir(name), "--no-pin", "--json"]);
  expect(pushed.code, pushed.stderr).toBe(0);
  expect(JSON.parse(pushed.stdout).form).toBe("image-spec-1.0");
  return JSON.parse(pushed.stdout).digest;
}

interface SignJson {
  digest: string;
  signatures: { form: string; manifest: string; tag?: string; manifestForm?: string; listedBy?: string }[];
  warnings: string[];
}

function verdicts(result: CliResult): [string, string][] {
  return (JSON.parse(result.stdout) as { signatures: { form: string; verdict: string }[] }).signatures.map((s) => [s.form, s.verdict]);
}

/** The manifest and the fallback index entries as the registry behind the proxy holds them. */
async function stored(repository: string, digest: string, bundle: string): Promise<{ manifest: Record<string, any>; listed: Descriptor[]; sigLayers: Descriptor[] }> {
  const repo = new RemoteRepository({ registry: upstream.host, repository });
  const manifest = JSON.parse((await repo.fetchManifest(bundle)).bytes.toString("utf8"));
  const listed = JSON.parse((await repo.fetchManifest(`sha256-${hex(digest)}`)).bytes.toString("utf8")).manifests as Descriptor[];
  const sigLayers = JSON.parse((await repo.fetchManifest(`sha256-${hex(digest)}.sig`)).bytes.toString("utf8")).layers as Descriptor[];
  return { manifest, listed, sigLayers };
}

beforeAll(async () => {
  [upstream, other] = await Promise.all([startRegistry(), startRegistry()]);
  strict = await startOci11Refuser(upstream);
  typeless = await startOci11Refuser(upstream, { refuse: /"artifactType"/ });
  work = await mkdtemp(path.join(tmpdir(), "kit-sign-legacy-"));
  for (const name of ["a", "b"]) {
    const generated = await kit(["key", "generate", "-o", key(name)]);
    expect(generated.code, generated.stderr).toBe(0);
  }
});

afterAll(async () => {
  await Promise.all([strict?.stop(), typeless?.stop()]);
  await Promise.all([upstream?.stop(), other?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe("a registry that refuses artifactType and subject", () => {
  it("kit sign writes the bundle in the 1.0 form without subject, listed in the fallback index; kit verify finds both forms (exit 0)", async () => {
    const digest = await pushThrough(strict, "strict");
    const before = strict.refused;
    const signed = await kit(["sign", `${strict.host}/kits/strict:1.0.0`, "--key", key("a.key"), "--json"]);
    expect(signed.code, signed.stderr).toBe(0);
    const doc = JSON.parse(signed.stdout) as SignJson;
    expect(doc.signatures).toEqual([
      expect.objectContaining({ form: "simplesigning", tag: `sha256-${hex(digest)}.sig`, added: true }),
      expect.objectContaining({ form: "bundle", manifestForm: "image-spec-1.0", listedBy: "referrers-index", added: true }),
    ]);
    expect(doc.warnings.join("\n")).toMatch(/refused the OCI 1\.1 manifest fields.*image-spec 1\.0 form/);
    expect(signed.stderr).toMatch(/^kit: warning: .*image-spec 1\.0 form/m);
    // Once in the 1.1 form, once in the 1.0 form with subject; the third write took.
    expect(strict.refused).toBe(before + 2);

    const { manifest, listed, sigLayers } = await stored("kits/strict", digest, doc.signatures[1]!.manifest);
    expect(manifest.artifactType).toBeUndefined();
    expect(manifest.subject).toBeUndefined();
    expect(manifest.config).toMatchObject({ mediaType: BUNDLE_TYPE, size: 2 });
    expect(manifest.layers.map((l: Descriptor) => l.mediaType)).toEqual([BUNDLE_TYPE]);
    expect(listed).toEqual([expect.objectContaining({ digest: doc.signatures[1]!.manifest, annotations: expect.any(Object) })]);
    expect(listed[0]!.artifactType).toBeUndefined();
    // The simple-signing form is what it is everywhere.
    expect(sigLayers.map((l) => l.mediaType)).toEqual([SIMPLE_SIGNING_TYPE]);

    const good = await kit(["verify", `${strict.host}/kits/strict:1.0.0`, "--key", key("a.pub"), "--json"]);
    expect(good.code, good.stderr).toBe(0);
    expect(verdicts(good)).toEqual([
      ["simplesigning", "verified"],
      ["bundle", "verified"],
    ]);
    const wrong = await kit(["verify", `${strict.host}/kits/strict:1.0.0`, "--key", key("b.pub"), "--json"]);
    expect(wrong.code).toBe(7);
    expect(verdicts(wrong)).toEqual([
      ["simplesigning", "wrong-key"],
      ["bundle", "wrong-key"],
    ]);
    const text = await kit(["sign", `${strict.host}/kits/strict:1.0.0`, "--key", key("b.key"), "--format", "bundle"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/bundle +referrer sha256:\w+ \(image-spec 1\.0 form, listed in the referrers index only\)/);
  });

  it("kit push --sign remembers the refusal from the push: the bundle is not offered in the 1.1 form again", async () => {
    const before = strict.refused;
    const pushed = await kit(["push", `${strict.host}/kits/remembered:1.0.0`, await kitDir("remembered"), "--no-pin", "--sign", key("a.key"), "--json"]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const doc = JSON.parse(pushed.stdout) as { form: string; signed: SignJson };
    expect(doc.form).toBe("image-spec-1.0");
    expect(doc.signed.signatures[1]).toMatchObject({ form: "bundle", manifestForm: "image-spec-1.0", listedBy: "referrers-index" });
    // The push's 1.1 manifest, then the bundle's 1.0 form with subject: never the bundle's 1.1 form.
    expect(strict.refused).toBe(before + 2);
    const good = await kit(["verify", `${strict.host}/kits/remembered:1.0.0`, "--key", key("a.pub"), "--json"]);
    expect(good.code, good.stderr).toBe(0);
    expect(verdicts(good)).toEqual([
      ["simplesigning", "verified"],
      ["bundle", "verified"],
    ]);
  });
});

describe("a registry that refuses artifactType but takes subject", () => {
  it("kit sign keeps subject in the 1.0 form; kit verify finds it, and kit copy -r carries it to another registry", async () => {
    const digest = await pushThrough(typeless, "typeless");
    const before = typeless.refused;
    const signed = await kit(["sign", `${typeless.host}/kits/typeless:1.0.0`, "--key", key("a.key"), "--json"]);
    expect(signed.code, signed.stderr).toBe(0);
    const doc = JSON.parse(signed.stdout) as SignJson;
    expect(doc.signatures[1]).toMatchObject({ form: "bundle", manifestForm: "image-spec-1.0", listedBy: "subject" });
    expect(typeless.refused).toBe(before + 1);
    const bundle = doc.signatures[1]!.manifest;
    const { manifest, listed } = await stored("kits/typeless", digest, bundle);
    expect(manifest.artifactType).toBeUndefined();
    expect(manifest.subject).toMatchObject({ digest });
    expect(manifest.config.mediaType).toBe(BUNDLE_TYPE);
    expect(listed.map((d) => [d.digest, d.artifactType])).toEqual([[bundle, undefined]]);

    const good = await kit(["verify", `${typeless.host}/kits/typeless:1.0.0`, "--key", key("a.pub"), "--json"]);
    expect(good.code, good.stderr).toBe(0);
    expect(verdicts(good)).toEqual([
      ["simplesigning", "verified"],
      ["bundle", "verified"],
    ]);
    // With its subject the bundle is a referrer like any other: copy -r takes it along, and the copy verifies.
    const copied = await kit(["copy", "-r", `${typeless.host}/kits/typeless:1.0.0`, `${other.host}/copied/typeless:1.0.0`, "--json"]);
    expect(copied.code, copied.stderr).toBe(0);
    expect((JSON.parse(copied.stdout) as { referrers: { digest: string }[] }).referrers.map((r) => r.digest)).toContain(bundle);
    const there = await kit(["verify", `${other.host}/copied/typeless:1.0.0`, "--key", key("a.pub"), "--identity", `${typeless.host}/kits/typeless`, "--json"]);
    expect(there.code, there.stderr).toBe(0);
    expect(verdicts(there)).toContainEqual(["bundle", "verified"]);
  });
});
