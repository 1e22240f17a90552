/**
 * kit key generate, kit sign, kit verify and kit push --sign (issue 12) through the built CLI, against the real
 * docker-registry 2.8 (no referrers API: bundles go through the sha256-<hex> fallback index), an oci: layout and
 * the local store. The last tests stop the registry first, so what they verify is read offline.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { fetchAll } from "../../src/oras/verify.js";
import { runKit, type CliResult } from "../support/cli.js";
import { cosignKeyFile } from "../support/cosign-key.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const run = promisify(execFile);
const CHUNKS = fileURLToPath(new URL("../../dist/bundle/chunks/", import.meta.url));
const RECORD_LOADS = pathToFileURL(fileURLToPath(new URL("../support/record-loads.mjs", import.meta.url))).href;
const PASSPHRASE = "test passphrase";
const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

let registry: RunningRegistry;
let work: string;
let repo: RemoteRepository;
/** Kits pushed by name: their registry reference by digest and their digest. */
const kits: Record<string, { ref: string; digest: string }> = {};

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { KIT_STORE: path.join(work, "store"), KIT_KEY_PASSWORD: PASSPHRASE, ...extra };
}

function kit(args: string[], extra: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> {
  return runKit(args, { env: env(extra), cwd: work, ...(input !== undefined ? { input } : {}) });
}

function key(name: string): string {
  return path.join(work, name);
}

async function pushKit(name: string): Promise<void> {
  const dir = path.join(work, "kits", name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "kit.yaml"), `name: ${name}\nversion: "1.0.0"\nimage: ghcr.io/org/base:1\nexposes: [{port: 8080}]\n`);
  await writeFile(path.join(dir, "README.md"), `# ${name}\n`);
  const pushed = await kit(["push", `${registry.host}/kits/signed:${name}`, dir, "--no-pin", "--json"]);
  expect(pushed.code, pushed.stderr).toBe(0);
  const { reference, digest } = JSON.parse(pushed.stdout);
  kits[name] = { ref: reference, digest };
}

function sigTag(digest: string): string {
  return `sha256-${digest.slice("sha256:".length)}.sig`;
}

/** The layers of the simple-signing manifest of `digest`. */
async function sigLayers(digest: string): Promise<Descriptor[]> {
  const { bytes } = await repo.fetchManifest(sigTag(digest));
  return JSON.parse(bytes.toString()).layers;
}

/** Put a simple-signing manifest of `layers` under `tag`, as a hostile writer of the repository could. */
async function putSignatureManifest(tag: string, layers: Descriptor[]): Promise<void> {
  const config = Buffer.from("{}");
  const configDesc = { mediaType: MediaType.ImageConfig, digest: digestOf(config), size: config.length };
  await repo.push(configDesc, config);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: configDesc, layers }));
  await repo.pushManifest({ mediaType: MediaType.ImageManifest, digest: digestOf(bytes), size: bytes.length }, bytes, { tag });
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), "kit-sign-"));
  repo = new RemoteRepository({ registry: registry.host, repository: "kits/signed" });
  for (const name of ["alpha", "beta", "gamma", "delta"]) await pushKit(name);
  for (const name of ["a", "b"]) {
    const generated = await kit(["key", "generate", "-o", key(name)]);
    expect(generated.code, generated.stderr).toBe(0);
  }
});

afterAll(async () => {
  await registry?.stop();
});

describe("kit key generate", () => {
  it("writes an encrypted PKCS#8 key (0600) openssl reads with the passphrase, and its public key", async () => {
    expect((await stat(key("a.key"))).mode & 0o777).toBe(0o600);
    const { stdout } = await run("openssl", ["pkey", "-in", key("a.key"), "-passin", "env:KIT_KEY_PASSWORD", "-pubout"], { env: { ...process.env, KIT_KEY_PASSWORD: PASSPHRASE } });
    expect(stdout).toBe(await readFile(key("a.pub"), "utf8"));
    const again = await kit(["key", "generate", "-o", key("a")]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a\.key already exists/);
    // A prefix in a directory that does not exist names that directory, not the temp file it could not create.
    const nowhere = await kit(["key", "generate", "-o", path.join(work, "no", "such", "k")]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toBe(`kit: error: cannot write ${path.join(work, "no", "such", "k.key")}: the directory ${path.join(work, "no", "such")} does not exist\nkit: hint: create it first, or choose another path\n`);
  });

  it("needs a passphrase from somewhere other than the command line", async () => {
    const none = await runKit(["key", "generate", "-o", key("none")], { env: { KIT_KEY_PASSWORD: undefined }, cwd: work });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/standard input is not a terminal to ask on\nkit: hint: set KIT_KEY_PASSWORD, or pipe it with --passphrase-stdin/);
    const piped = await runKit(["key", "generate", "-o", key("piped"), "--passphrase-stdin", "--json"], { env: { KIT_KEY_PASSWORD: undefined }, cwd: work, input: "from stdin\n" });
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toEqual({ privateKey: key("piped.key"), publicKey: key("piped.pub"), fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });
});

describe("kit sign and kit verify against a registry", () => {
  it("signs by digest in both forms; the right key verifies (exit 0), another key is refused (exit 7)", async () => {
    const signed = await kit(["sign", `${registry.host}/kits/signed:alpha`, "--key", key("a.key"), "--json"]);
    expect(signed.code, signed.stderr).toBe(0);
    const result = JSON.parse(signed.stdout);
    expect(result).toMatchObject({ reference: kits.alpha!.ref, digest: kits.alpha!.digest, identity: `${registry.host}/kits/signed` });
    expect(result.signatures.map((s: { form: string }) => s.form)).toEqual(["simplesigning", "bundle"]);
    // Both forms are where cosign looks: the .sig tag, and a referrer of the bundle type (here in the fallback index).
    expect(await sigLayers(kits.alpha!.digest)).toHaveLength(1);
    const referrers = await repo.predecessors({ mediaType: MediaType.ImageManifest, digest: kits.alpha!.digest, size: 0 }, { artifactType: BUNDLE_TYPE });
    expect(referrers.map((r) => r.digest)).toEqual([result.signatures[1].manifest]);

    const good = await kit(["verify", `${registry.host}/kits/signed:alpha`, "--key", key("a.pub")]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`^verified {2}simplesigning .*\\n^verified {2}bundle .*\\nverified ${kits.alpha!.ref.replace(/[.]/g, "\\.")} for `, "m"));

    const wrong = await kit(["verify", kits.alpha!.ref, "--key", key("b.pub"), "--json"]);
    expect(wrong.code).toBe(7);
    const report = JSON.parse(wrong.stdout);
    expect(report).toMatchObject({ digest: kits.alpha!.digest, verified: false });
    expect(report.error).toBeUndefined();
    expect(report.signatures.map((s: { form: string; verdict: string }) => [s.form, s.verdict])).toEqual([
      ["simplesigning", "wrong-key"],
      ["bundle", "wrong-key"],
    ]);
    expect(wrong.stderr).toMatch(/^kit: error: no signature of .* verifies with the given keys/);
  });

  it("writes a simple-signing payload and DER signature that openssl verifies", async () => {
    const [layer] = await sigLayers(kits.alpha!.digest);
    expect(layer!.mediaType).toBe("application/vnd.dev.cosign.simplesigning.v1+json");
    const payload = await fetchAll(repo, layer!);
    expect(JSON.parse(payload.toString())).toEqual({
      critical: { identity: { "docker-reference": `${registry.host}/kits/signed` }, image: { "docker-manifest-digest": kits.alpha!.digest }, type: "cosign container image signature" },
      optional: null,
    });
    await writeFile(path.join(work, "payload"), payload);
    await writeFile(path.join(work, "sig.der"), Buffer.from(layer!.annotations!["dev.cosignproject.cosign/signature"]!, "base64"));
    const { stdout } = await run("openssl", ["dgst", "-sha256", "-verify", key("a.pub"), "-signature", path.join(work, "sig.der"), path.join(work, "payload")]);
    expect(stdout.trim()).toBe("Verified OK");
  });

  it("keeps the signatures already under the .sig tag when another key signs", async () => {
    const before = await sigLayers(kits.alpha!.digest);
    const signed = await kit(["sign", kits.alpha!.ref, "--key", key("b.key"), "--format", "simplesigning"]);
    expect(signed.code, signed.stderr).toBe(0);
    const after = await sigLayers(kits.alpha!.digest);
    expect(after).toHaveLength(2);
    expect(after[0]).toEqual(before[0]);
    for (const pub of ["a.pub", "b.pub"]) expect((await kit(["verify", kits.alpha!.ref, "--key", key(pub)])).code).toBe(0);
    const again = await kit(["sign", kits.alpha!.ref, "--key", key("b.key"), "--format", "simplesigning"]);
    expect(again.stdout).toMatch(/already signed by this key/);
    expect(await sigLayers(kits.alpha!.digest)).toHaveLength(2);
  });

  it("refuses a signature manifest copied under another kit's .sig tag, naming the digest it signs", async () => {
    const { bytes } = await repo.fetchManifest(sigTag(kits.alpha!.digest));
    await repo.pushManifest({ mediaType: MediaType.ImageManifest, digest: digestOf(bytes), size: bytes.length }, bytes, { tag: sigTag(kits.beta!.digest) });
    const copied = await kit(["verify", kits.beta!.ref, "--key", key("a.pub"), "--json"]);
    expect(copied.code).toBe(7);
    const [first] = JSON.parse(copied.stdout).signatures;
    expect(first).toMatchObject({ form: "simplesigning", verdict: "other-digest", reason: `it signs ${kits.alpha!.digest}, not this kit (${kits.beta!.digest})` });
  });

  it("refuses a payload with a flipped byte as a bad signature", async () => {
    expect((await kit(["sign", kits.gamma!.ref, "--key", key("a.key"), "--format", "simplesigning"])).code).toBe(0);
    const [layer] = await sigLayers(kits.gamma!.digest);
    const payload = Buffer.from(await fetchAll(repo, layer!));
    const at = payload.indexOf(kits.gamma!.digest) + 20;
    payload[at] = payload[at]! ^ 0x01;
    const flipped = { ...layer!, digest: digestOf(payload), size: payload.length };
    await repo.push(flipped, payload);
    await putSignatureManifest(sigTag(kits.gamma!.digest), [flipped]);
    const result = await kit(["verify", kits.gamma!.ref, "--key", key("a.pub"), "--json"]);
    expect(result.code).toBe(7);
    expect(JSON.parse(result.stdout).signatures).toEqual([
      expect.objectContaining({ verdict: "bad-signature", key: expect.stringMatching(/^sha256:/), reason: expect.stringMatching(/the payload or the signature was changed/) }),
    ]);
  });

  it("says a kit without signatures has none (exit 7), and refuses a wrong passphrase without writing anything (exit 6)", async () => {
    const none = await kit(["verify", kits.delta!.ref, "--key", key("a.pub")]);
    expect(none.code).toBe(7);
    expect(none.stderr).toMatch(/has no signature/);
    const refused = await kit(["sign", kits.delta!.ref, "--key", key("a.key")], { KIT_KEY_PASSWORD: "not it" });
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/cannot decrypt .*a\.key: wrong passphrase/);
    expect(refused.stderr).not.toContain("not it");
    await expect(repo.resolve(sigTag(kits.delta!.digest))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("signs with a cosign key file (scrypt + secretbox), its passphrase on standard input", async () => {
    const cosign = cosignKeyFile(PASSPHRASE);
    await writeFile(key("cosign.key"), cosign.pem, { mode: 0o600 });
    await writeFile(key("cosign.pub"), cosign.publicKeyPem);
    const signed = await kit(["sign", kits.delta!.ref, "--key", key("cosign.key"), "--passphrase-stdin"], { KIT_KEY_PASSWORD: undefined }, `${PASSPHRASE}\n`);
    expect(signed.code, signed.stderr).toBe(0);
    expect((await kit(["verify", kits.delta!.ref, "--key", key("cosign.pub")])).code).toBe(0);
  });

  it("kit push --sign signs what it pushed; an oci: layout cannot be signed that way", async () => {
    await pushKit("epsilon");
    const dir = path.join(work, "kits", "epsilon");
    const pushed = await kit(["push", `${registry.host}/kits/pushed:1.0.0`, dir, "--no-pin", "--sign", key("b.key"), "--json"]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const { reference, signed } = JSON.parse(pushed.stdout);
    expect(signed).toMatchObject({ reference, identity: `${registry.host}/kits/pushed` });
    expect((await kit(["verify", `${registry.host}/kits/pushed:1.0.0`, "--key", key("b.pub")])).code).toBe(0);
    const layout = await kit(["push", `oci:${path.join(work, "pushed-layout")}`, dir, "--no-pin", "--sign", key("b.key")]);
    expect(layout.code).toBe(2);
    expect(layout.stderr).toMatch(/--sign signs the kit in its registry repository/);
  });

  it("never loads the signing libraries for kit validate, kit pull or a push without --sign", async () => {
    const marked = (await readdir(CHUNKS)).filter((f) => f.endsWith(".cjs"));
    const signing: string[] = [];
    for (const f of marked) {
      const text = await readFile(path.join(CHUNKS, f), "utf8");
      if (text.includes("DSSEBundleBuilder") || text.includes("xsalsa20poly1305")) signing.push(f);
    }
    expect(signing.length).toBeGreaterThan(0);
    const loads = async (args: string[]): Promise<string[]> => {
      const log = path.join(await mkdtemp(path.join(work, "loads-")), "loads.txt");
      const result = await kit(args, { KIT_LOAD_LOG: log, NODE_OPTIONS: `--import=${RECORD_LOADS}` });
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      return (await readFile(log, "utf8")).split("\n").filter((url) => url.includes("/dist/bundle/"));
    };
    const dir = path.join(work, "kits", "beta");
    for (const args of [["validate", dir], ["pull", kits.beta!.ref, "--allow-unpinned"], ["push", `${registry.host}/kits/unsigned:1.0.0`, dir, "--no-pin"]]) {
      const loaded = await loads(args);
      expect(loaded.some((url) => url.endsWith("/main.cjs")), args[0]).toBe(true);
      expect(loaded.filter((url) => signing.some((chunk) => url.endsWith(`/${chunk}`))), args[0]).toEqual([]);
    }
    const verifying = await loads(["verify", kits.alpha!.ref, "--key", key("a.pub")]);
    expect(verifying.some((url) => signing.some((chunk) => url.endsWith(`/${chunk}`)))).toBe(true);
  });
});

describe("offline: an oci: layout and the local store", () => {
  let layout: string;

  beforeAll(async () => {
    layout = path.join(work, "layout");
    // copy -r carries the bundle referrers along; the .sig tag is copied as a tag of its own.
    expect((await kit(["copy", "-r", kits.alpha!.ref, `oci:${layout}:alpha`])).code).toBe(0);
    expect((await kit(["copy", `${registry.host}/kits/signed:${sigTag(kits.alpha!.digest)}`, `oci:${layout}`])).code).toBe(0);
    expect((await kit(["pull", kits.alpha!.ref, "--allow-unpinned"])).code).toBe(0);
    await registry.stop();
  });

  it("verifies a kit in an oci: layout, named with --identity", async () => {
    const verified = await kit(["verify", `oci:${layout}:alpha`, "--key", key("a.pub"), "--identity", `${registry.host}/kits/signed`, "--json"]);
    expect(verified.code, verified.stderr).toBe(0);
    // Key b's simple-signing layer came along under the tag too.
    expect(JSON.parse(verified.stdout).signatures.map((s: { form: string; verdict: string }) => [s.form, s.verdict])).toEqual([
      ["simplesigning", "verified"],
      ["simplesigning", "wrong-key"],
      ["bundle", "verified"],
    ]);
    const elsewhere = await kit(["verify", `oci:${layout}:alpha`, "--key", key("a.pub"), "--identity", "ghcr.io/someone/else"]);
    expect(elsewhere.code).toBe(7);
    expect(elsewhere.stdout).toMatch(/other-identity/);
    const unnamed = await kit(["verify", `oci:${layout}:alpha`, "--key", key("a.pub")]);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toMatch(/--identity REGISTRY\/REPO/);
  });

  it("signs a kit in the local store into the store, lists no signature as a kit, and verifies it there", async () => {
    const short = `alpha@${kits.alpha!.digest}`;
    expect((await kit(["verify", short, "--key", key("a.pub")])).code).toBe(7);
    const signed = await kit(["sign", short, "--key", key("a.key"), "--json"]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(JSON.parse(signed.stdout)).toMatchObject({ identity: `${registry.host}/kits/signed`, signatures: [{ tag: `${registry.host}/kits/signed:${sigTag(kits.alpha!.digest)}` }, { form: "bundle" }] });
    const listed: string[] = JSON.parse((await kit(["ls", "--json"])).stdout).kits.map((k: { reference: string }) => k.reference);
    expect(listed).toContain(`${registry.host}/kits/signed@${kits.alpha!.digest}`);
    expect(listed.filter((r) => r.endsWith(".sig"))).toEqual([]);
    expect((await kit(["verify", short, "--key", key("a.pub")])).code).toBe(0);
    expect((await kit(["verify", short, "--key", key("b.pub")])).code).toBe(7);
    expect((await kit(["store", "verify"])).code).toBe(0);
  });
});
