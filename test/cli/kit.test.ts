/**
 * kit push / pull / inspect / pack against the real registry and skopeo:
 * pinning, reproducibility, the local store and offline pulls, and every bad
 * input refused with nothing stored.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildKitArtifact, type KitArtifact } from "../../src/kit/artifact.js";
import { canonicalJson } from "../../src/kit/canonical-json.js";
import { parseKitManifest } from "../../src/kit/load.js";
import type { Descriptor } from "../../src/oras/descriptor.js";
import { runKit } from "../support/cli.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage, registrySink, skopeo, writeImageIndexLayout } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

let registry: RunningRegistry;
let baseDigest: string;
let work: string;

async function temp(prefix: string): Promise<string> {
  return mkdtemp(path.join(work, `${prefix}-`));
}

/** A kit directory whose image is the fixture base image in the test registry. */
async function kitDir(overrides: Record<string, string> = {}): Promise<string> {
  const dir = await temp("kit");
  const yaml = {
    name: "famiglia",
    version: '"1.0.0"',
    description: '"Team agents"',
    image: `${registry.host}/base/agent:latest`,
    ...overrides,
  };
  const text = Object.entries(yaml).map(([k, v]) => `${k}: ${v}`).join("\n") + "\nexposes:\n  - port: 8080\nsecrets:\n  required: [{name: API_KEY}]\n";
  await writeFile(path.join(dir, "kit.yaml"), text);
  await writeFile(path.join(dir, "README.md"), "# famiglia\n\nTeam agents.\n");
  return dir;
}

function storeEnv(store: string) {
  return { KIT_STORE: store, DOCKER_CONFIG: path.join(work, "no-docker-config") };
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-artifacts-"));
  registry = await startRegistry();
  const base = await buildImage({ url: registry.url, repo: "base/agent" }, { tag: "latest", seed: "base-image" });
  baseDigest = base.digest;
});

afterAll(async () => {
  await registry?.stop();
});

describe("kit push and pull", () => {
  it("pins the image to the registry's Docker-Content-Digest, pulls by tag and by digest", async () => {
    const store = await temp("store");
    const dir = await kitDir();
    const push = await runKit(["push", `${registry.host}/kits/famiglia:1.0.0`, dir, "--json"], { env: storeEnv(store) });
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    const pushed = JSON.parse(push.stdout);
    const head = await fetch(`${registry.url}/v2/base/agent/manifests/latest`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    const headerDigest = head.headers.get("docker-content-digest");
    expect(headerDigest).toBe(baseDigest);
    expect(pushed.image).toBe(`${registry.host}/base/agent:latest@${headerDigest}`);
    expect(pushed.reference).toBe(`${registry.host}/kits/famiglia@${pushed.digest}`);
    expect(pushed.tags).toEqual(["1.0.0"]);

    const pullStore = await temp("store");
    for (const ref of [`${registry.host}/kits/famiglia:1.0.0`, `${registry.host}/kits/famiglia@${pushed.digest}`]) {
      const pull = await runKit(["pull", ref, "--json"], { env: storeEnv(pullStore) });
      expect(pull.stderr).toBe("");
      const doc = JSON.parse(pull.stdout);
      expect(doc.reference).toBe(`${registry.host}/kits/famiglia@${pushed.digest}`);
      expect(doc.digest).toBe(pushed.digest);
      expect(doc.image).toBe(pushed.image);
      expect(doc.kit).toMatchObject({ name: "famiglia", version: "1.0.0", image: pushed.image, exposes: [{ port: 8080, protocol: "tcp" }] });
    }
  });

  it("resolveKit (the library) returns exactly what kit pull --json prints", async () => {
    const dir = await kitDir({ version: '"1.0.1"' });
    const { pushKit, resolveKit, validateKit } = await import("../../src/index.js");
    expect((await validateKit(dir)).valid).toBe(true);
    const pushed = await pushKit(`${registry.host}/kits/library:1.0.1`, dir, { store: await temp("store") });
    const store = await temp("store");
    const cli = await runKit(["pull", `${registry.host}/kits/library:1.0.1`, "--json"], { env: storeEnv(store) });
    const fromLibrary = await resolveKit(`${registry.host}/kits/library@${pushed.digest}`, { store });
    expect(fromLibrary).toEqual(JSON.parse(cli.stdout));
    expect(await resolveKit(`famiglia@${pushed.digest}`, { store })).toEqual(fromLibrary);
  });

  it("gives one digest for two pushes of the same directory, and the second uploads nothing but the tag", async () => {
    const dir = await kitDir({ version: '"1.1.0"' });
    const proxy: FaultProxy = await startFaultProxy({ upstream: registry.url });
    try {
      const first = await runKit(["push", `${proxy.host}/kits/repeat:1.1.0`, dir], { env: storeEnv(await temp("store")) });
      expect(first.code).toBe(0);
      proxy.resetRequests();
      const second = await runKit(["push", `${proxy.host}/kits/repeat:1.1.0`, dir, "--tag", "stable"], { env: storeEnv(await temp("store")) });
      expect(second.stdout).toBe(first.stdout);
      expect(proxy.count({ method: "POST" })).toBe(0);
      expect(proxy.count({ method: "PATCH" })).toBe(0);
      const puts = proxy.requests.filter((r) => r.method === "PUT").map((r) => r.url);
      expect(puts.every((u) => /\/manifests\/(1\.1\.0|stable)$/.test(u))).toBe(true);
      expect((await runKit(["resolve", `${registry.host}/kits/repeat:stable`])).stdout.split("@")[1]).toBe(first.stdout.split("@")[1]);
    } finally {
      await proxy.stop();
    }
  });

  it("is readable by skopeo with the same manifest digest", async () => {
    const dir = await kitDir({ version: '"1.2.0"' });
    const push = await runKit(["push", `${registry.host}/kits/skopeo:1.2.0`, dir, "--json"], { env: storeEnv(await temp("store")) });
    const { digest } = JSON.parse(push.stdout);
    const layout = await temp("layout");
    await skopeo(["copy", "--preserve-digests", `docker://${registry.host}/kits/skopeo:1.2.0`, `oci:${layout}:kit`]);
    const raw = await readFile(path.join(layout, "index.json"), "utf8");
    expect(JSON.parse(raw).manifests[0].digest).toBe(digest);
    // ...and kit reads skopeo's layout back as a kit.
    const pulled = await runKit(["pull", `oci:${layout}:kit`, "--json"], { env: storeEnv(await temp("store")) });
    expect(JSON.parse(pulled.stdout).digest).toBe(digest);
  });

  it("serves NAME@sha256 from the store offline, with the registry stopped", async () => {
    const own = await startRegistry();
    const store = await temp("store");
    const base = await buildImage({ url: own.url, repo: "base/agent" }, { tag: "latest", seed: "offline-base" });
    const dir = await kitDir({ image: `${own.host}/base/agent:latest` });
    const pushed = JSON.parse((await runKit(["push", `${own.host}/kits/famiglia:1.0.0`, dir, "--json"], { env: storeEnv(store) })).stdout);
    expect(pushed.image).toBe(`${own.host}/base/agent:latest@${base.digest}`);
    await own.stop();

    const offline = await runKit(["pull", `famiglia@${pushed.digest}`, "--json"], { env: storeEnv(store) });
    expect(offline.stderr).toBe("");
    expect(JSON.parse(offline.stdout)).toMatchObject({ digest: pushed.digest, reference: `${own.host}/kits/famiglia@${pushed.digest}`, image: pushed.image });
    const byTag = await runKit(["pull", "famiglia:1.0.0", "--json"], { env: storeEnv(store) });
    expect(JSON.parse(byTag.stdout).digest).toBe(pushed.digest);
    const byFullDigest = await runKit(["pull", `${own.host}/kits/famiglia@${pushed.digest}`, "--json"], { env: storeEnv(store) });
    expect(JSON.parse(byFullDigest.stdout).digest).toBe(pushed.digest);

    const unknown = await runKit(["pull", `famiglia@sha256:${"e".repeat(64)}`], { env: storeEnv(store) });
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain(`${own.host}/kits/famiglia:1.0.0`);
  });

  it("writes kit.yaml and README.md with -o, never over existing files without --force", async () => {
    const dir = await kitDir({ version: '"1.3.0"' });
    const store = await temp("store");
    await runKit(["push", `${registry.host}/kits/files:1.3.0`, dir], { env: storeEnv(store) });
    const out = path.join(await temp("out"), "kit");
    const pulled = await runKit(["pull", `${registry.host}/kits/files:1.3.0`, "-o", out], { env: storeEnv(store) });
    expect(pulled.code).toBe(0);
    // kit.yaml comes back as the kit runs it: the author's file with the image pinned.
    const pinned = `${registry.host}/base/agent:latest@${baseDigest}`;
    const written = (await readFile(path.join(dir, "kit.yaml"), "utf8")).replace(`image: ${registry.host}/base/agent:latest`, `image: ${pinned}`);
    expect(await readFile(path.join(out, "kit.yaml"), "utf8")).toBe(written);
    expect(await readFile(path.join(out, "README.md"))).toEqual(await readFile(path.join(dir, "README.md")));
    await writeFile(path.join(out, "README.md"), "mine\n");
    const again = await runKit(["pull", `${registry.host}/kits/files:1.3.0`, "-o", out], { env: storeEnv(store) });
    expect(again.code).toBe(1);
    expect(await readFile(path.join(out, "README.md"), "utf8")).toBe("mine\n");
    expect((await runKit(["pull", `${registry.host}/kits/files:1.3.0`, "-o", out, "--force"], { env: storeEnv(store) })).code).toBe(0);
    expect(await readFile(path.join(out, "README.md"), "utf8")).toBe("# famiglia\n\nTeam agents.\n");
  });

  it("pull -o writes the pinned image into kit.yaml, keeping comments and quoting, and says so", async () => {
    const dir = await kitDir({ version: '"1.3.1"', image: `"${registry.host}/base/agent:latest"  # the agent's base image` });
    const store = await temp("store");
    const pushed = JSON.parse((await runKit(["push", `${registry.host}/kits/pinned-yaml:1.3.1`, dir, "--json"], { env: storeEnv(store) })).stdout);
    const out = await temp("out");
    const pulled = await runKit(["pull", `${registry.host}/kits/pinned-yaml:1.3.1`, "-o", out], { env: storeEnv(store) });
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain(`wrote ${path.join(out, "kit.yaml")} (image pinned to ${pushed.image})`);
    const original = await readFile(path.join(dir, "kit.yaml"), "utf8");
    expect(await readFile(path.join(out, "kit.yaml"), "utf8")).toBe(original.replace(`"${registry.host}/base/agent:latest"`, `"${pushed.image}"`));
  });

  it("pull -o checks both targets before writing either: a dangling README.md link, a README.md directory", async () => {
    const dir = await kitDir({ version: '"1.3.2"' });
    const store = await temp("store");
    await runKit(["push", `${registry.host}/kits/all-or-nothing:1.3.2`, dir], { env: storeEnv(store) });
    const ref = `${registry.host}/kits/all-or-nothing:1.3.2`;

    const dangling = await temp("out");
    await symlink(path.join(dangling, "nowhere"), path.join(dangling, "README.md"));
    const refused = await runKit(["pull", ref, "-o", dangling], { env: storeEnv(store) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${path.join(dangling, "README.md")} already exists`);
    expect(existsSync(path.join(dangling, "kit.yaml"))).toBe(false);
    // --force replaces the link itself (not a file it points to).
    expect((await runKit(["pull", ref, "-o", dangling, "--force"], { env: storeEnv(store) })).code).toBe(0);
    expect(await readFile(path.join(dangling, "README.md"), "utf8")).toBe("# famiglia\n\nTeam agents.\n");
    expect(existsSync(path.join(dangling, "nowhere"))).toBe(false);

    const directory = await temp("out");
    await writeFile(path.join(directory, "kit.yaml"), "mine\n");
    await mkdir(path.join(directory, "README.md"));
    const forced = await runKit(["pull", ref, "-o", directory, "--force"], { env: storeEnv(store) });
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain(`cannot write ${path.join(directory, "README.md")}: it is a directory`);
    expect(await readFile(path.join(directory, "kit.yaml"), "utf8")).toBe("mine\n");
    expect((await readdir(directory)).sort()).toEqual(["README.md", "kit.yaml"]);
  });

  it("takes Helm's oci://HOST/REPO for push and pull, and never writes a layout for it", async () => {
    const cwd = await temp("cwd");
    const dir = await kitDir({ version: '"1.5.0"' });
    const store = await temp("store");
    const ref = `oci://${registry.host}/kits/helm:1.5.0`;
    const push = await runKit(["push", ref, dir, "--json"], { cwd, env: storeEnv(store) });
    expect(push.code, push.stderr).toBe(0);
    const pushed = JSON.parse(push.stdout);
    expect(pushed.reference).toBe(`${registry.host}/kits/helm@${pushed.digest}`);
    expect(existsSync(`/${registry.host}`)).toBe(false);
    expect(await readdir(cwd)).toEqual([]);
    const pull = await runKit(["pull", ref, "--json"], { cwd, env: storeEnv(await temp("store")) });
    expect(JSON.parse(pull.stdout).digest).toBe(pushed.digest);
    const http = await runKit(["pull", `http://${registry.host}/kits/helm:1.5.0`], { cwd, env: storeEnv(store) });
    expect(http.code).toBe(2);
    expect(http.stderr).toContain(`write ${registry.host}/kits/helm:1.5.0`);
  });

  it("confirms an image already pinned by digest exists at its registry (exit 5 naming it), unless --no-pin", async () => {
    const missing = `${registry.host}/base/agent:latest@sha256:${"0".repeat(64)}`;
    const dir = await kitDir({ image: missing, version: '"2.1.0"' });
    const store = await temp("store");
    const failed = await runKit(["push", `${registry.host}/kits/prepinned:2.1.0`, dir], { env: storeEnv(store) });
    expect(failed.code).toBe(5);
    expect(failed.stderr).toContain(missing);
    expect((await fetch(`${registry.url}/v2/kits/prepinned/tags/list`)).status).toBe(404);
    expect((await runKit(["push", `${registry.host}/kits/prepinned:2.1.0`, dir, "--no-pin"], { env: storeEnv(store) })).code).toBe(0);

    const real = await kitDir({ image: `${registry.host}/base/agent@${baseDigest}`, version: '"2.1.1"' });
    const ok = await runKit(["push", `${registry.host}/kits/prepinned:2.1.1`, real, "--json"], { env: storeEnv(store) });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).image).toBe(`${registry.host}/base/agent@${baseDigest}`);
  });

  it("refuses an invalid kit with exit 3 and pushes nothing", async () => {
    const dir = await kitDir({ version: "v1" });
    const result = await runKit(["push", `${registry.host}/kits/invalid:1`, dir], { env: storeEnv(await temp("store")) });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/kit\.yaml:2:10: version: must be a SemVer/);
    expect((await fetch(`${registry.url}/v2/kits/invalid/tags/list`)).status).toBe(404);
  });

  it("names the image and --no-pin when the image cannot be resolved; --no-pin records an unpinned kit", async () => {
    const dir = await kitDir({ image: `${registry.host}/base/missing:1.0`, version: '"2.0.0"' });
    const store = await temp("store");
    const failed = await runKit(["push", `${registry.host}/kits/unpinned:2.0.0`, dir], { env: storeEnv(store) });
    expect(failed.code).toBe(5);
    expect(failed.stderr).toContain(`${registry.host}/base/missing:1.0`);
    expect(failed.stderr).toContain("--no-pin");

    const pushed = await runKit(["push", `${registry.host}/kits/unpinned:2.0.0`, dir, "--no-pin"], { env: storeEnv(store) });
    expect(pushed.code).toBe(0);
    const refused = await runKit(["pull", `${registry.host}/kits/unpinned:2.0.0`], { env: storeEnv(await temp("store")) });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/unpinned/);
    const allowed = await runKit(["pull", `${registry.host}/kits/unpinned:2.0.0`, "--allow-unpinned", "--json"], { env: storeEnv(await temp("store")) });
    expect(JSON.parse(allowed.stdout).kit.unpinned).toBe(true);
    // An unpinned kit's kit.yaml is written as it was, and the output says why.
    const out = await temp("out");
    const written = await runKit(["pull", `${registry.host}/kits/unpinned:2.0.0`, "--allow-unpinned", "-o", out], { env: storeEnv(await temp("store")) });
    expect(written.stdout).toContain(`wrote ${path.join(out, "kit.yaml")} (image ${registry.host}/base/missing:1.0 as written: the kit is unpinned)`);
    expect(await readFile(path.join(out, "kit.yaml"))).toEqual(await readFile(path.join(dir, "kit.yaml")));
    // inspect --json says null for the image of an unpinned kit, as spec/cli.md gives the shape.
    const inspected = await runKit(["inspect", `${registry.host}/kits/unpinned:2.0.0`, "--json"], { env: storeEnv(store) });
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ image: null, kit: { unpinned: true } });
  });

  it("warns, and still pushes, when a version-shaped tag is not the kit's version", async () => {
    const dir = await kitDir({ version: '"0.1.0"' });
    const store = await temp("store");
    const slipped = await runKit(["push", `${registry.host}/kits/versioned:1.0.0`, dir, "--json"], { env: storeEnv(store) });
    expect(slipped.code).toBe(0);
    expect(slipped.stderr).toBe("kit: warning: tag 1.0.0 looks like a version, but the kit's version is 0.1.0\n");
    expect(JSON.parse(slipped.stdout).warnings).toEqual(["tag 1.0.0 looks like a version, but the kit's version is 0.1.0"]);
    const matching = await runKit(["push", `${registry.host}/kits/versioned`, dir, "-t", "stable"], { env: storeEnv(store) });
    expect(matching).toMatchObject({ code: 0, stderr: "" });
  });

  it("inspects a kit in a registry, a layout and the store", async () => {
    const dir = await kitDir({ version: '"1.4.0"' });
    const store = await temp("store");
    const pushed = JSON.parse((await runKit(["push", `${registry.host}/kits/inspect:1.4.0`, dir, "--json"], { env: storeEnv(store) })).stdout);
    const layout = await temp("layout");
    await runKit(["pack", dir, "--output", `oci:${layout}:1.4.0`], { env: storeEnv(store) });
    for (const ref of [`${registry.host}/kits/inspect:1.4.0`, `oci:${layout}:1.4.0`, `famiglia@${pushed.digest}`]) {
      const result = await runKit(["inspect", ref, "--json"], { env: storeEnv(store) });
      expect(result.stderr, ref).toBe("");
      const info = JSON.parse(result.stdout);
      expect(info.digest).toBe(pushed.digest);
      expect(info.image).toBe(pushed.image);
      expect(info.annotations["org.opencontainers.image.title"]).toBe("famiglia");
      expect(info.layers.map((l: Descriptor) => l.annotations?.["org.opencontainers.image.title"])).toEqual(["kit.yaml", "README.md"]);
    }
    const human = await runKit(["inspect", `${registry.host}/kits/inspect:1.4.0`], { env: storeEnv(store) });
    expect(human.stdout).toContain(`Image:         ${pushed.image}`);
    // Layer and annotation columns line up.
    const lines = human.stdout.split("\n");
    const layers = lines.slice(lines.indexOf("Layers:") + 1, lines.indexOf("Annotations:"));
    expect(layers).toHaveLength(2);
    const column = (pattern: RegExp) => (line: string) => pattern.exec(line)![0].length;
    expect(new Set(layers.map(column(/^ {2}\S+ +/))).size).toBe(1);
    expect(new Set(layers.map((l) => l.indexOf("sha256:"))).size).toBe(1);
    const annotations = lines.slice(lines.indexOf("Annotations:") + 1).filter(Boolean);
    expect(annotations.length).toBeGreaterThan(2);
    expect(new Set(annotations.map(column(/^ {2}\S+: +/))).size).toBe(1);
  });
});

describe("kit pack", () => {
  it("packs the same directory to the same digest every time, and records created only when asked", async () => {
    const dir = await kitDir({ image: `ghcr.io/example/base:1@sha256:${"c".repeat(64)}` });
    const a = await runKit(["pack", dir, "--output", `oci:${await temp("layout")}`]);
    const b = await runKit(["pack", dir, "--output", `oci:${await temp("layout")}`]);
    expect(a.code).toBe(0);
    expect(a.stdout.split("@")[1]).toBe(b.stdout.split("@")[1]);
    const layout = await temp("layout");
    const dated = await runKit(["pack", dir, "--output", `oci:${layout}:x`, "--json"], { env: { SOURCE_DATE_EPOCH: "1700000000" } });
    const manifest = JSON.parse(await readFile(path.join(layout, "blobs/sha256", JSON.parse(dated.stdout).digest.slice(7)), "utf8"));
    expect(manifest.annotations["org.opencontainers.image.created"]).toBe("2023-11-14T22:13:20Z");
  });

  it("takes -o PATH without oci: as the layout path, and refuses a URL with exit 2", async () => {
    const dir = await kitDir({ image: `ghcr.io/example/base:1@sha256:${"c".repeat(64)}` });
    const layout = path.join(await temp("layout"), "plain");
    const packed = await runKit(["pack", dir, "-o", layout, "--json"]);
    expect(packed.code, packed.stderr).toBe(0);
    expect(JSON.parse(packed.stdout)).toMatchObject({ reference: `oci:${layout}@${JSON.parse(packed.stdout).digest}`, tags: ["1.0.0"] });
    expect(JSON.parse(await readFile(path.join(layout, "index.json"), "utf8")).manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe("1.0.0");
    const url = await runKit(["pack", dir, "-o", `oci://${registry.host}/kits/x:1`]);
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('to publish to a registry use "kit push REF DIR"');
  });
});

/** Push an artifact built by hand, as another tool might, possibly broken. */
async function pushRaw(repo: string, tag: string, artifact: { manifest: unknown; blobs: { descriptor: Descriptor; bytes: Buffer }[] }): Promise<string> {
  const sink = registrySink({ url: registry.url, repo });
  for (const blob of artifact.blobs) await sink.putBlob(blob.descriptor, () => Readable.from([blob.bytes]));
  const bytes = Buffer.from(JSON.stringify(artifact.manifest));
  const desc = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length };
  await sink.setRoot(desc, bytes, tag);
  return desc.digest;
}

function validArtifact(): KitArtifact {
  const yaml = Buffer.from(`name: famiglia\nversion: "9.0.0"\nimage: ${registry.host}/base/agent:latest\n`);
  return buildKitArtifact({ manifest: parseKitManifest(yaml), kitYaml: yaml, readme: Buffer.from("# x\n"), pinnedImage: `${registry.host}/base/agent:latest@${baseDigest}` });
}

function blobOf(bytes: Buffer, mediaType: string, annotations?: Record<string, string>) {
  const descriptor: Descriptor = { mediaType, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length };
  if (annotations) descriptor.annotations = annotations;
  return { descriptor, bytes };
}

describe("bad kits are refused and nothing is stored", () => {
  async function expectRefused(ref: string, code: number, message: RegExp): Promise<void> {
    const store = await temp("store");
    const result = await runKit(["pull", ref], { env: storeEnv(store) });
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toMatch(message);
    const blobs = existsSync(path.join(store, "blobs/sha256")) ? await readdir(path.join(store, "blobs/sha256")) : [];
    expect(blobs).toEqual([]);
    const index = existsSync(path.join(store, "index.json")) ? JSON.parse(await readFile(path.join(store, "index.json"), "utf8")).manifests : [];
    expect(index).toEqual([]);
    // Not even an empty store: it is created only when a kit is recorded.
    expect(await readdir(store)).toEqual([]);
  }

  function parts(a: KitArtifact) {
    return { manifest: JSON.parse(a.manifest.bytes.toString()), blobs: [a.config, ...a.layers] };
  }

  it("a container image is not a kit (exit 3)", async () => {
    const image = await buildImage({ url: registry.url, repo: "bad/image" }, { tag: "v1", seed: "not-a-kit" });
    expect(image.digest).toMatch(/^sha256:/);
    await expectRefused(`${registry.host}/bad/image:v1`, 3, /is not a kit/);
  });

  it("a wrong artifactType (exit 3)", async () => {
    const p = parts(validArtifact());
    p.manifest.artifactType = "application/vnd.example.other+json";
    await pushRaw("bad/artifact-type", "v1", p);
    await expectRefused(`${registry.host}/bad/artifact-type:v1`, 3, /artifactType application\/vnd.example.other\+json/);
  });

  it("an invalid kit config pushed by another tool (exit 3)", async () => {
    const a = validArtifact();
    const config = blobOf(Buffer.from(canonicalJson({ ...a.kit, name: "Not Valid" })), "application/vnd.aegis.kit.config.v1+json");
    const p = parts(a);
    p.manifest.config = config.descriptor;
    p.blobs[0] = config;
    await pushRaw("bad/config", "v1", p);
    await expectRefused(`${registry.host}/bad/config:v1`, 3, /kit config is not a valid kit/);
  });

  it("an invalid kit.yaml layer pushed by another tool (exit 3)", async () => {
    const p = parts(validArtifact());
    const yaml = blobOf(Buffer.from('name: famiglia\nversion: v9\nimage: x:1\n'), "application/vnd.aegis.kit.manifest.v1+yaml", { "org.opencontainers.image.title": "kit.yaml" });
    p.manifest.layers[0] = yaml.descriptor;
    p.blobs[1] = yaml;
    await pushRaw("bad/kit-yaml", "v1", p);
    await expectRefused(`${registry.host}/bad/kit-yaml:v1`, 3, /its kit.yaml is not a valid kit: kit.yaml:2:10: version/);
  });

  it("a config that disagrees with kit.yaml (exit 3)", async () => {
    const a = validArtifact();
    const config = blobOf(Buffer.from(canonicalJson({ ...a.kit, egress: ["evil.example.com"] })), "application/vnd.aegis.kit.config.v1+json");
    const p = parts(a);
    p.manifest.config = config.descriptor;
    p.blobs[0] = config;
    await pushRaw("bad/disagree", "v1", p);
    await expectRefused(`${registry.host}/bad/disagree:v1`, 3, /disagrees with its kit.yaml layer \(field egress\)/);
  });

  it("a missing layer (exit 5)", async () => {
    const p = parts(validArtifact());
    const readme = p.blobs.pop()!;
    const readmeAlt = blobOf(Buffer.from("# never pushed\n"), "text/markdown", { "org.opencontainers.image.title": "README.md" });
    p.manifest.layers[1] = readmeAlt.descriptor;
    expect(readme.descriptor.digest).not.toBe(readmeAlt.descriptor.digest);
    // distribution refuses manifests with missing blobs, so push a blob and delete it afterwards.
    p.blobs.push(readmeAlt);
    await pushRaw("bad/missing", "v1", p);
    expect((await fetch(`${registry.url}/v2/bad/missing/blobs/${readmeAlt.descriptor.digest}`, { method: "DELETE" })).status).toBe(202);
    await expectRefused(`${registry.host}/bad/missing:v1`, 5, /README\.md|blob/);
  });

  it("an image annotation that disagrees with the config's image (exit 3; inspect refuses it too)", async () => {
    const p = parts(validArtifact());
    const shown = `${registry.host}/base/agent:latest@sha256:${"c".repeat(64)}`;
    p.manifest.annotations["dev.aegis.kit.image"] = shown;
    await pushRaw("bad/image-annotation", "v1", p);
    const ref = `${registry.host}/bad/image-annotation:v1`;
    const message = new RegExp(`annotation dev\\.aegis\\.kit\\.image names ${shown}, but the kit config's image is ${registry.host}/base/agent:latest@${baseDigest}`);
    await expectRefused(ref, 3, message);
    const inspected = await runKit(["inspect", ref], { env: storeEnv(await temp("store")) });
    expect(inspected.code).toBe(3);
    expect(inspected.stderr).toMatch(message);
  });

  it("a README title with a path (exit 3)", async () => {
    const p = parts(validArtifact());
    p.manifest.layers[1].annotations["org.opencontainers.image.title"] = "../x";
    await pushRaw("bad/title", "v1", p);
    await expectRefused(`${registry.host}/bad/title:v1`, 3, /title annotation "\.\.\/x"/);
  });

  it("a config over 1 MiB (exit 3)", async () => {
    const p = parts(validArtifact());
    const big = blobOf(Buffer.alloc(1024 * 1024 + 1, 0x20), "application/vnd.aegis.kit.config.v1+json");
    p.manifest.config = big.descriptor;
    p.blobs[0] = big;
    await pushRaw("bad/big-config", "v1", p);
    await expectRefused(`${registry.host}/bad/big-config:v1`, 3, /exceeds the limit of 1048576 bytes/);
  });

  it("a blob whose bytes do not match its digest (exit 4)", async () => {
    const a = validArtifact();
    await pushRaw("bad/corrupt", "v1", parts(a));
    const proxy = await startFaultProxy({ upstream: registry.url, rules: [{ method: "GET", path: new RegExp(`/blobs/${a.layers[0].descriptor.digest}$`), corruptBody: true, times: Infinity }] });
    try {
      await expectRefused(`${proxy.host}/bad/corrupt:v1`, 4, /digest mismatch/);
    } finally {
      await proxy.stop();
    }
  });

  it("a tag that moved between resolve and fetch (exit 4)", async () => {
    const first = validArtifact();
    const firstDigest = await pushRaw("bad/moved", "v1", parts(first));
    const yaml = Buffer.from(`name: famiglia\nversion: "9.0.1"\nimage: ${registry.host}/base/agent:latest\n`);
    const second = buildKitArtifact({ manifest: parseKitManifest(yaml), kitYaml: yaml, readme: Buffer.from("# y\n"), pinnedImage: `${registry.host}/base/agent:latest@${baseDigest}` });
    await pushRaw("bad/moved", "v1", parts(second));
    await expectRefused(`${registry.host}/bad/moved:v1@${firstDigest}`, 4, /tag moved/);
  });

  it("a manifest over 4 MiB (exit 3)", async () => {
    const dir = await temp("layout");
    await writeImageIndexLayout(dir, { tag: "seed", seed: "big-manifest", platforms: ["linux/amd64"] });
    const p = parts(validArtifact());
    p.manifest.annotations["padding"] = "x".repeat(4 * 1024 * 1024);
    const bytes = Buffer.from(JSON.stringify(p.manifest));
    const digest = createHash("sha256").update(bytes).digest("hex");
    await mkdir(path.join(dir, "blobs/sha256"), { recursive: true });
    await writeFile(path.join(dir, "blobs/sha256", digest), bytes);
    const index = JSON.parse(await readFile(path.join(dir, "index.json"), "utf8"));
    index.manifests.push({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${digest}`, size: bytes.length, annotations: { "org.opencontainers.image.ref.name": "big" } });
    await writeFile(path.join(dir, "index.json"), JSON.stringify(index));
    await expectRefused(`oci:${dir}:big`, 3, /exceeds the limit of 4194304 bytes/);
  });
});

describe("copying a pushed kit keeps it a kit", () => {
  it("kit copy to another repository and layout, then pull", async () => {
    const dir = await kitDir({ version: '"3.0.0"' });
    const store = await temp("store");
    const { digest } = JSON.parse((await runKit(["push", `${registry.host}/kits/copyme:3.0.0`, dir, "--json"], { env: storeEnv(store) })).stdout);
    const layout = await temp("layout");
    expect((await runKit(["copy", `${registry.host}/kits/copyme:3.0.0`, `oci:${layout}:3.0.0`])).stdout).toBe(`${digest}\n`);
    await cp(layout, `${layout}-moved`, { recursive: true });
    const pulled = await runKit(["pull", `oci:${layout}-moved:3.0.0`, "--json"], { env: storeEnv(await temp("store")) });
    expect(JSON.parse(pulled.stdout).digest).toBe(digest);
  });
});
