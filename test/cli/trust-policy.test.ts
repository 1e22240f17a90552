/**
 * The config file's trust policy (issue 12 item 4) through the built CLI, against real docker-registry 2.8
 * instances and the real store: a kit its scope requires to be signed is pulled only with a signature that verifies,
 * and stored with it, so a pull from the store checks it again offline; an unsigned or wrongly signed kit exits 7
 * with nothing stored; a mirror serves a kit signed for the upstream's name. The last tests stop the registries.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKit, type CliResult } from "../support/cli.js";
import { buildImage } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const PASSPHRASE = "trust passphrase";

let upstream: RunningRegistry;
let mirror: RunningRegistry;
let work: string;
let stores = 0;
/** Kit references by digest, by name. */
const kits: Record<string, { ref: string; digest: string }> = {};

function kit(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runKit(args, { env: { KIT_KEY_PASSWORD: PASSPHRASE, KIT_STORE: path.join(work, "store-unused"), ...extra }, cwd: work });
}

/** A fresh store path (not created) and the env naming it and `config`. */
function fresh(config: string): { store: string; env: NodeJS.ProcessEnv } {
  const store = path.join(work, `store-${++stores}`);
  return { store, env: { KIT_STORE: store, KIT_CONFIG: config } };
}

async function pushKit(name: string, repository: string): Promise<void> {
  const dir = path.join(work, "kits", name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "kit.yaml"), `name: ${name}\nversion: "1.0.0"\nimage: ${upstream.host}/org/base:1\nexposes: [{port: 8080}]\n`);
  await writeFile(path.join(dir, "README.md"), `# ${name}\n`);
  const pushed = await kit(["push", `${upstream.host}/${repository}:1.0.0`, dir, "--json"]);
  expect(pushed.code, pushed.stderr).toBe(0);
  const { reference, digest } = JSON.parse(pushed.stdout);
  kits[name] = { ref: reference, digest };
}

async function writeConfig(name: string, text: string): Promise<string> {
  const file = path.join(work, name);
  await writeFile(file, text);
  return file;
}

const fingerprint: Record<string, string> = {};
let config: string;

beforeAll(async () => {
  upstream = await startRegistry();
  mirror = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), "kit-trust-"));
  await mkdir(path.join(work, "keys"));
  for (const name of ["a", "b"]) {
    const generated = await kit(["key", "generate", "-o", path.join(work, "keys", name), "--json"]);
    expect(generated.code, generated.stderr).toBe(0);
    fingerprint[name] = JSON.parse(generated.stdout).fingerprint;
  }
  await buildImage({ url: upstream.url, repo: "org/base" }, { tag: "1", seed: "trust-policy-base" });
  await pushKit("signed", "org/signed-kit");
  await pushKit("unsigned", "org/unsigned-kit");
  await pushKit("wrongkey", "org/wrongkey-kit");
  await pushKit("free", "org/free-kit");
  await pushKit("elsewhere", "other/kit");
  for (const [name, key] of [["signed", "a"], ["wrongkey", "b"], ["free", "b"]] as const) {
    const signed = await kit(["sign", kits[name]!.ref, "--key", path.join(work, "keys", `${key}.key`)]);
    expect(signed.code, signed.stderr).toBe(0);
  }
  // Key paths relative to the config file's directory; the exact repository wins over the prefix.
  config = await writeConfig(
    "kit.yaml",
    `trust:\n  "${upstream.host}/org/*":\n    keys: [keys/a.pub]\n  "${upstream.host}/org/free-kit":\n    signed: false\n`,
  );
});

afterAll(async () => {
  await upstream?.stop();
  await mirror?.stop();
});

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function storeNames(store: string): Promise<string[]> {
  const index = JSON.parse(await readFile(path.join(store, "index.json"), "utf8"));
  return index.manifests.map((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"]).sort();
}

describe("kit config check with a trust section", () => {
  it("accepts the policy, and locates every broken pattern, key and setting", async () => {
    expect(await kit(["config", "check", config])).toMatchObject({ code: 0, stdout: `${config}: valid (0 registries, 0 mirrors, 2 trust scopes)\n` });
    const bad = await writeConfig(
      "bad.yaml",
      ["trust:", "  ghcr.io:", "    keys: [keys/a.pub]", '  "ghcr.io/other/*": {}', '  "ghcr.io/free/*":', "    signed: false", "    keys: [keys/a.pub]", ""].join("\n"),
    );
    const checked = await kit(["config", "check", bad]);
    expect(checked.code).toBe(3);
    expect(checked.stderr).toContain(`${bad}:2:3: trust["ghcr.io"]: it names a whole registry (write "ghcr.io/*" for every repository in it)`);
    expect(checked.stderr).toContain(`${bad}:4:22: trust["ghcr.io/other/*"]: requires signatures but names no key`);
    expect(checked.stderr).toContain(`${bad}:7:11: trust["ghcr.io/free/*"].keys: are not used with signed: false`);
    // Key files are read by the check, and each unusable one is reported at its entry.
    const keys = await writeConfig("keys.yaml", 'trust:\n  "ghcr.io/org/*":\n    keys: [keys/missing.pub, keys/a.key, keys/a.pub]\n');
    const keyCheck = await kit(["config", "check", keys]);
    expect(keyCheck.code).toBe(3);
    expect(keyCheck.stderr).toContain(`${keys}:3:12: trust["ghcr.io/org/*"].keys[0]: key file ${path.join(work, "keys", "missing.pub")} not found`);
    expect(keyCheck.stderr).toMatch(/keys\.yaml:3:30: trust\["ghcr\.io\/org\/\*"\]\.keys\[1\]: .*not a public key/);
    expect(keyCheck.stderr).not.toContain("keys[2]");
    // The same file stops a pull before any request: exit 3, naming the first problem.
    const pull = await kit(["pull", kits.signed!.ref], { KIT_CONFIG: bad });
    expect(pull.code).toBe(3);
    expect(pull.stderr).toContain(`${bad}:2:3: trust["ghcr.io"]`);
  });
});

describe("kit pull under a trust policy", () => {
  it("pulls a kit signed by a trusted key, reports it, and stores the signatures with it", async () => {
    const { store, env } = fresh(config);
    const pulled = await kit(["pull", `${upstream.host}/org/signed-kit:1.0.0`, "--json"], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const result = JSON.parse(pulled.stdout);
    expect(result.trust).toEqual({
      scope: `${upstream.host}/org/*`,
      file: config,
      signed: true,
      verified: [
        { form: "simplesigning", key: fingerprint.a, manifest: expect.stringMatching(/^sha256:/) },
        { form: "bundle", key: fingerprint.a, manifest: expect.stringMatching(/^sha256:/) },
      ],
    });
    const names = await storeNames(store);
    const hex = kits.signed!.digest.slice("sha256:".length);
    expect(names).toEqual(
      [`${upstream.host}/org/signed-kit:1.0.0`, `${upstream.host}/org/signed-kit:sha256-${hex}.sig`, `${upstream.host}/org/signed-kit@${result.trust.verified[1].manifest}`].sort(),
    );
    const text = await kit(["pull", `${upstream.host}/org/signed-kit:1.0.0`], env);
    expect(text.stdout).toContain(`signature verified with key ${fingerprint.a} (simplesigning and bundle; trust scope "${upstream.host}/org/*" in ${config})`);
    // kit ls lists the kit alone: the signatures are not kits.
    const listed = await kit(["ls", "--json"], env);
    expect(JSON.parse(listed.stdout).kits.map((e: { reference: string }) => e.reference)).toEqual([`${upstream.host}/org/signed-kit:1.0.0`]);
  });

  it.each([
    ["unsigned", "has no signature"],
    ["wrongkey", "wrong-key"],
  ])("refuses a %s kit with exit 7 and stores nothing", async (name, reason) => {
    const { store, env } = fresh(config);
    const pulled = await kit(["pull", kits[name]!.ref], env);
    expect(pulled.code).toBe(7);
    expect(pulled.stderr).toContain(reason);
    expect(pulled.stderr).toContain(`the trust policy in ${config} requires kits of "${upstream.host}/org/*" to be signed by one of its 1 key`);
    expect(pulled.stderr).toContain("nothing was stored");
    expect(await exists(store)).toBe(false);
  });

  it("refuses a signature made for another kit's digest", async () => {
    // The signed kit's simple-signing manifest put under the unsigned kit's signature tag: a copied signature.
    const { env } = fresh(config);
    const copied = await kit(["copy", `${upstream.host}/org/signed-kit:sha256-${kits.signed!.digest.slice(7)}.sig`, `${upstream.host}/org/copied-kit:sha256-${kits.unsigned!.digest.slice(7)}.sig`]);
    expect(copied.code, copied.stderr).toBe(0);
    const moved = await kit(["copy", kits.unsigned!.ref, `${upstream.host}/org/copied-kit:1.0.0`]);
    expect(moved.code, moved.stderr).toBe(0);
    const pulled = await kit(["pull", `${upstream.host}/org/copied-kit:1.0.0`], env);
    expect(pulled.code).toBe(7);
    expect(pulled.stderr).toContain("other-digest");
  });

  it("takes an unsigned kit where the most specific scope says signed: false, and applies no policy outside every scope", async () => {
    const { env } = fresh(config);
    const free = await kit(["pull", kits.free!.ref, "--json"], env);
    expect(free.code, free.stderr).toBe(0);
    expect(JSON.parse(free.stdout).trust).toEqual({ scope: `${upstream.host}/org/free-kit`, file: config, signed: false, verified: [] });
    const elsewhere = await kit(["pull", kits.elsewhere!.ref, "--json"], env);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(JSON.parse(elsewhere.stdout)).not.toHaveProperty("trust");
  });

  it("re-checks a stored kit: one stored before the policy is fetched again with its signatures, and a store reference is refused when the policy changes", async () => {
    const { store, env } = fresh(config);
    // Pulled with no config: stored without signatures.
    const plain = await kit(["pull", kits.signed!.ref], { KIT_STORE: store, KIT_CONFIG: "", HOME: work });
    expect(plain.code, plain.stderr).toBe(0);
    expect((await storeNames(store)).length).toBe(1);
    // By digest with the policy: the store's copy has no signature, so the registry's are fetched, verified and stored.
    const again = await kit(["pull", kits.signed!.ref, "--json"], env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).trust.verified).toHaveLength(2);
    expect((await storeNames(store)).length).toBe(3);
    // A store reference, under a policy that trusts only key b: refused, and the store is left as it was.
    const onlyB = await writeConfig("only-b.yaml", `trust:\n  "${upstream.host}/org/*":\n    keys: [keys/b.pub]\n`);
    const refused = await kit(["pull", `signed@${kits.signed!.digest}`], { KIT_STORE: store, KIT_CONFIG: onlyB });
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain(`no signature of ${upstream.host}/org/signed-kit@${kits.signed!.digest} in`);
    expect((await storeNames(store)).length).toBe(3);
  });
});

describe("kit verify without --key", () => {
  it("takes the keys of the trust scope that decides for the kit", async () => {
    const env = { KIT_CONFIG: config };
    expect(await kit(["verify", kits.signed!.ref], env)).toMatchObject({ code: 0 });
    expect((await kit(["verify", kits.wrongkey!.ref], env)).code).toBe(7);
    const outside = await kit(["verify", kits.elsewhere!.ref], env);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain(`kit verify needs at least one --key PUBLIC_KEY: no trust scope of the config file applies to ${upstream.host}/other/kit`);
    const free = await kit(["verify", kits.free!.ref], env);
    expect(free.code).toBe(2);
    expect(free.stderr).toContain(`the trust scope "${upstream.host}/org/free-kit" accepts unsigned kits`);
  });
});

describe("offline", () => {
  it("a mirror serves a kit signed for the upstream's name, and the store re-verifies with every registry stopped", async () => {
    const mirrored = await kit(["mirror", kits.signed!.ref, "--to", `${mirror.host}/airgap`]);
    expect(mirrored.code, mirrored.stderr).toBe(0);
    const site = await writeConfig(
      "site.yaml",
      `registries:\n  "${upstream.host}":\n    mirrors: ["${mirror.host}/airgap"]\n    fallback: false\ntrust:\n  "${upstream.host}/org/*":\n    keys: [keys/a.pub]\n`,
    );
    const bundle = path.join(work, "signed.tar");
    const saved = await kit(["save", kits.signed!.ref, "-o", bundle]);
    expect(saved.code, saved.stderr).toBe(0);
    await upstream.stop();
    // A loaded bundle's signatures serve the policy as a pulled kit's do.
    const loadedStore = fresh(site);
    const loaded = await kit(["load", bundle], loadedStore.env);
    expect(loaded.code, loaded.stderr).toBe(0);
    const fromLoad = await kit(["pull", `signed@${kits.signed!.digest}`, "--json"], loadedStore.env);
    expect(fromLoad.code, fromLoad.stderr).toBe(0);
    expect(JSON.parse(fromLoad.stdout).trust.verified.map((v: { form: string }) => v.form)).toEqual(["simplesigning", "bundle"]);
    const { store, env } = fresh(site);
    const pulled = await kit(["pull", kits.signed!.ref, "--json"], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const result = JSON.parse(pulled.stdout);
    expect(result).toMatchObject({ reference: kits.signed!.ref, endpoint: `${mirror.host}/airgap/org/signed-kit`, trust: { signed: true } });
    expect(result.trust.verified.map((v: { form: string }) => v.form)).toEqual(["simplesigning", "bundle"]);
    await mirror.stop();
    const offline = await kit(["pull", `signed@${kits.signed!.digest}`, "--json"], env);
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout).trust.verified).toHaveLength(2);
    // Damage the stored signature payload: the offline pull no longer verifies (every blob is re-hashed).
    const layers = JSON.parse(await readFile(path.join(store, "index.json"), "utf8")).manifests;
    expect(layers.length).toBe(3);
    await rm(path.join(store, "blobs", "sha256", result.trust.verified[0].manifest.slice(7)));
    await rm(path.join(store, "blobs", "sha256", result.trust.verified[1].manifest.slice(7)));
    const damaged = await kit(["pull", `signed@${kits.signed!.digest}`], env);
    expect(damaged.code).toBe(7);
  });
});
