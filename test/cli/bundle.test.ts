/**
 * kit save / kit load / kit bundle ls against real registries, the real
 * local store and skopeo: a kit whose base image is a 2-platform index goes
 * into one bundle and comes out with every digest intact, into an empty
 * registry or the store (then served offline); skopeo reads the unpacked
 * bundle by the original references, and loads what skopeo wrote; a bundle
 * that is tampered with or would escape its layout is refused with nothing
 * written anywhere.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKit } from "../support/cli.js";
import { buildImageIndex, skopeo, skopeoBytes, type BuiltImageIndex } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { tarOf } from "../support/tar.js";
import { treeSnapshot } from "../support/tree.js";
import { createHash } from "node:crypto";

const run = promisify(execFile);
const ACCEPT = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

let source: RunningRegistry;
let work: string;
let image: BuiltImageIndex;
let kitRef: string;
let kitDigest: string;
let imageRef: string;
/** A plain (uncompressed) bundle of the kit, saved once. */
let bundle: string;

function env(store: string) {
  return { KIT_STORE: store, DOCKER_CONFIG: path.join(work, "no-docker-config") };
}

async function temp(prefix: string): Promise<string> {
  return mkdtemp(path.join(work, `${prefix}-`));
}

/** The digest a registry serves for REPO:REF, or undefined when it has none. */
async function servedDigest(registry: RunningRegistry, repo: string, ref: string): Promise<string | undefined> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${ref}`, { method: "HEAD", headers: { accept: ACCEPT } });
  return res.status === 200 ? (res.headers.get("docker-content-digest") ?? undefined) : undefined;
}

/** The digest of the one entry of a layout's index.json. */
async function layoutDigest(dir: string): Promise<string> {
  const index = JSON.parse(await readFile(path.join(dir, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> };
  expect(index.manifests).toHaveLength(1);
  return index.manifests[0]!.digest;
}

async function catalog(registry: RunningRegistry): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/_catalog`);
  return ((await res.json()) as { repositories: string[] }).repositories;
}

/** Offset of the first data byte of the entry `name` in an uncompressed tar written by kit save. */
function dataOffset(tar: Buffer, name: string): number {
  for (let at = 0; at + 512 <= tar.length; ) {
    const entry = tar.subarray(at, at + 100).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(tar.subarray(at + 124, at + 136).toString("utf8").replace(/\0.*$/s, "").trim() || "0", 8);
    if (entry === name) return at + 512;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no entry ${name}`);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-bundle-"));
  source = await startRegistry();
  image = await buildImageIndex({ url: source.url, repo: "base/agent" }, { tag: "1", layerSizes: [1500, 5000], seed: "bundle-base" });
  imageRef = `${source.host}/base/agent:1`;
  const dir = await temp("kit");
  await writeFile(path.join(dir, "kit.yaml"), `name: famiglia\nversion: "1.0.0"\nimage: ${imageRef}\nexposes:\n  - port: 8080\n`);
  await writeFile(path.join(dir, "README.md"), "# famiglia\n");
  kitRef = `${source.host}/kits/famiglia:1.0.0`;
  const pushed = await runKit(["push", kitRef, dir, "--json"], { env: env(await temp("push-store")) });
  expect(pushed.stderr).toBe("");
  kitDigest = JSON.parse(pushed.stdout).digest;
  bundle = path.join(work, "famiglia.tar");
  const saved = await runKit(["save", kitRef, "-o", bundle, "--json"], { env: env(await temp("save-store")) });
  expect(saved.stderr).toBe("");
  expect(saved.code).toBe(0);
});

afterAll(async () => {
  await source?.stop();
  await rm(work, { recursive: true, force: true });
});

describe("kit save and kit bundle ls", () => {
  it("writes the kit and every platform of its base image under their original references, listed from the head of the tar", async () => {
    const listed = await runKit(["bundle", "ls", bundle, "--json"]);
    expect(listed.code).toBe(0);
    const doc = JSON.parse(listed.stdout);
    expect(doc).toMatchObject({ bundle, compression: "none" });
    expect(doc.entries).toEqual([
      { kind: "kit", reference: kitRef, digest: kitDigest, mediaType: "application/vnd.oci.image.manifest.v1+json", size: expect.any(Number), name: "famiglia", version: "1.0.0", image: `${imageRef}@${image.digest}` },
      { kind: "image", reference: imageRef, digest: image.digest, mediaType: "application/vnd.oci.image.index.v1+json", size: image.index.size },
    ]);
    const text = await runKit(["bundle", "ls", bundle]);
    expect(text.stdout.split("\n")[0]).toMatch(/^KIND\s+REFERENCE\s+DIGEST\s+KIT$/);
    expect(text.stdout).toContain(`kit    ${kitRef}`);
    expect(text.stdout).toContain(`image  ${imageRef}`);
    expect(text.stdout).toContain("famiglia 1.0.0");
    // kit inspect of a file lists it the same way.
    expect(JSON.parse((await runKit(["inspect", bundle, "--json"])).stdout)).toEqual(doc);

    // The layout leads: oci-layout, index.json, the manifests, then every config and layer, each once.
    const { stdout } = await run("tar", ["-tf", bundle]);
    const names = stdout.trim().split("\n");
    expect(names.slice(0, 2)).toEqual(["oci-layout", "index.json"]);
    const blobs = names.slice(2).map((n) => n.replace("blobs/sha256/", "sha256:"));
    expect(new Set(blobs).size).toBe(blobs.length);
    for (const d of image.descriptors) expect(blobs).toContain(d.digest);
    expect(blobs.indexOf(image.digest)).toBeLessThan(blobs.indexOf(image.blobs[0]!.digest));
  });

  it("saves a base image two kits share once, with each blob once", async () => {
    const dir = await temp("kit2");
    await writeFile(path.join(dir, "kit.yaml"), `name: other\nversion: "2.0.0"\nimage: ${imageRef}\n`);
    await writeFile(path.join(dir, "README.md"), "# other\n");
    const other = `${source.host}/kits/other:2.0.0`;
    expect((await runKit(["push", other, dir], { env: env(await temp("store")) })).code).toBe(0);
    const file = path.join(work, "two.tar");
    const saved = JSON.parse((await runKit(["save", kitRef, other, kitRef, "-o", file, "--json"], { env: env(await temp("store")) })).stdout);
    expect(saved.entries.map((e: { kind: string; reference: string }) => `${e.kind} ${e.reference}`)).toEqual([`kit ${kitRef}`, `image ${imageRef}`, `kit ${other}`]);
    const { stdout } = await run("tar", ["-tf", file]);
    const names = stdout.trim().split("\n");
    expect(new Set(names).size).toBe(names.length);
    expect(saved.blobs).toBe(names.length - 2);
    expect(saved.blobs).toBe(image.descriptors.length + 8);
  });

  it("is read by skopeo once unpacked, by the original references (oci:DIR:REGISTRY/REPO:TAG)", async () => {
    const dir = await temp("unpacked");
    await run("tar", ["-xf", bundle, "-C", dir]);
    const raw = await skopeoBytes(["inspect", "--raw", `oci:${dir}:${imageRef}`]);
    expect(`sha256:${createHash("sha256").update(raw).digest("hex")}`).toBe(image.digest);
    const kitRaw = await skopeoBytes(["inspect", "--raw", `oci:${dir}:${kitRef}`]);
    expect(`sha256:${createHash("sha256").update(kitRaw).digest("hex")}`).toBe(kitDigest);
    const out = path.join(await temp("skopeo-dir"), "copy");
    await skopeo(["copy", "--multi-arch", "all", `oci:${dir}:${imageRef}`, `dir:${out}`]);
    for (const platform of image.images) expect(existsSync(path.join(out, `${platform.manifest.digest.slice(7)}.manifest.json`))).toBe(true);
  });

  it("compresses with gzip, and load tells the compression by its magic bytes, whatever the file is called", async () => {
    const file = path.join(work, "famiglia.bin");
    const saved = await runKit(["save", kitRef, "-o", file, "--compress", "gzip"], { env: env(await temp("store")) });
    expect(saved.code).toBe(0);
    expect(saved.stdout).toContain(`wrote ${file} (`);
    const head = (await readFile(file)).subarray(0, 2);
    expect([...head]).toEqual([0x1f, 0x8b]);
    expect(JSON.parse((await runKit(["bundle", "ls", file, "--json"])).stdout)).toMatchObject({ compression: "gzip", entries: [{ digest: kitDigest }, { digest: image.digest }] });
    const target = await startRegistry();
    try {
      const loaded = await runKit(["load", file, "--to", target.host, "--json"], { env: env(await temp("store")) });
      expect(loaded.stderr).toBe("");
      expect(JSON.parse(loaded.stdout)).toMatchObject({ compression: "gzip", destination: target.host });
      // No prefix: every repository keeps its path.
      expect(await servedDigest(target, "base/agent", "1")).toBe(image.digest);
      expect(await servedDigest(target, "kits/famiglia", "1.0.0")).toBe(kitDigest);
    } finally {
      await target.stop();
    }
  });

  it("compresses with zstd where Node's zlib has it, and says which Node it needs where not", async () => {
    const file = path.join(work, "famiglia.tar.zst");
    const saved = await runKit(["save", kitRef, "-o", file, "--compress", "zstd"], { env: env(await temp("store")) });
    if (typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress !== "function") {
      expect(saved.code).toBe(2);
      expect(saved.stderr).toMatch(/--compress zstd needs Node\.js 22\.15 or later/);
      expect(existsSync(file)).toBe(false);
      return;
    }
    expect(saved.code).toBe(0);
    expect([...(await readFile(file)).subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    const store = path.join(await temp("zstd"), "store");
    const loaded = await runKit(["load", file, "--json"], { env: env(store) });
    expect(loaded.code).toBe(0);
    expect(JSON.parse(loaded.stdout).compression).toBe("zstd");
  });

  it("refuses to overwrite a file without --force", async () => {
    const file = path.join(await temp("exists"), "b.tar");
    await writeFile(file, "keep me");
    const refused = await runKit(["save", kitRef, "-o", file], { env: env(await temp("store")) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file} already exists`);
    expect(await readFile(file, "utf8")).toBe("keep me");
    expect((await runKit(["save", kitRef, "-o", file, "--force"], { env: env(await temp("store")) })).code).toBe(0);
    expect((await readFile(file)).subarray(0, 10).toString()).toBe("oci-layout");
  });
});

describe("kit load into a registry", () => {
  let target: RunningRegistry;
  beforeAll(async () => {
    target = await startRegistry();
  });
  afterAll(async () => {
    await target?.stop();
  });

  it("gives an empty registry the kit, the index and every platform manifest with identical digests, under the prefix", async () => {
    const loaded = await runKit(["load", bundle, "--to", `${target.host}/airgap`, "--json"], { env: env(await temp("store")) });
    expect(loaded.stderr).toBe("");
    const doc = JSON.parse(loaded.stdout);
    expect(doc.entries).toEqual([
      { kind: "kit", reference: kitRef, destination: `${target.host}/airgap/kits/famiglia:1.0.0`, digest: kitDigest, name: "famiglia", version: "1.0.0" },
      { kind: "image", reference: imageRef, destination: `${target.host}/airgap/base/agent:1`, digest: image.digest },
    ]);
    expect(await servedDigest(target, "airgap/kits/famiglia", "1.0.0")).toBe(kitDigest);
    expect(await servedDigest(target, "airgap/base/agent", "1")).toBe(image.digest);
    for (const platform of image.images) expect(await servedDigest(target, "airgap/base/agent", platform.manifest.digest)).toBe(platform.manifest.digest);
    expect((await catalog(target)).sort()).toEqual(["airgap/base/agent", "airgap/kits/famiglia"]);
    // A second load finds everything there.
    const again = JSON.parse((await runKit(["load", bundle, "--to", `${target.host}/airgap`, "--json"], { env: env(await temp("store")) })).stdout);
    expect(again.stats).toMatchObject({ uploaded: 2, mounted: 0 });
  });

  it("loads a layout skopeo wrote and system tar packed, named by full reference or, with --repository, by tag", async () => {
    const byName = await temp("skopeo-full");
    await skopeo(["copy", "--multi-arch", "all", `docker://${imageRef}`, `oci:${byName}:${imageRef}`]);
    const fullTar = path.join(work, "skopeo-full.tar");
    await run("tar", ["-C", byName, "-cf", fullTar, "."]);
    const dest = await startRegistry();
    try {
      const loaded = await runKit(["load", fullTar, "--to", `${dest.host}/from-skopeo`], { env: env(await temp("store")) });
      expect(loaded.stderr).toBe("");
      expect(loaded.code).toBe(0);
      // skopeo may rewrite the index as it copies: what it wrote is what must arrive.
      expect(await servedDigest(dest, "from-skopeo/base/agent", "1")).toBe(await layoutDigest(byName));

      const byTag = await temp("skopeo-tag");
      await skopeo(["copy", "--multi-arch", "all", `docker://${imageRef}`, `oci:${byTag}:stable`]);
      const tagTar = path.join(work, "skopeo-tag.tar");
      await run("tar", ["-C", byTag, "-cf", tagTar, "."]);
      const unnamed = await runKit(["load", tagTar, "--to", dest.host], { env: env(await temp("store")) });
      expect(unnamed.code).toBe(2);
      expect(unnamed.stderr).toMatch(/index\.json entry 1 \("stable"\) of bundle .* is named by the tag "stable" alone/);
      expect(unnamed.stderr).toContain("--repository REGISTRY/REPO");
      const named = await runKit(["load", tagTar, "--to", `${dest.host}/tagged`, "--repository", `${source.host}/team/app`], { env: env(await temp("store")) });
      expect(named.stderr).toBe("");
      expect(await servedDigest(dest, "tagged/team/app", "stable")).toBe(await layoutDigest(byTag));
    } finally {
      await dest.stop();
    }
  });
});

describe("refused bundles write nothing", () => {
  let target: RunningRegistry;
  beforeAll(async () => {
    target = await startRegistry();
  });
  afterAll(async () => {
    await target?.stop();
  });

  /** Load `file` into the empty registry and into a fresh store; both must fail alike and leave no trace. */
  async function expectRefused(file: string, code: number, message: RegExp): Promise<void> {
    const dir = await temp("refused");
    const store = path.join(dir, "store");
    const before = await treeSnapshot(work);
    const toRegistry = await runKit(["load", file, "--to", target.host], { env: env(store) });
    expect(toRegistry.code).toBe(code);
    expect(toRegistry.stderr).toMatch(message);
    expect(await catalog(target)).toEqual([]);
    const toStore = await runKit(["load", file], { env: env(store) });
    expect(toStore.code).toBe(code);
    expect(toStore.stderr).toMatch(message);
    expect(existsSync(store)).toBe(false);
    expect(await treeSnapshot(work)).toEqual(before);
  }

  it("refuses a bundle with one byte changed inside one blob, naming the entry (integrity, exit 4)", async () => {
    const tar = await readFile(bundle);
    const layer = image.images[1]!.layers[1]!.digest;
    const name = `blobs/sha256/${layer.slice(7)}`;
    const at = dataOffset(tar, name) + 100;
    tar[at] = tar[at]! ^ 0xff;
    const tampered = path.join(work, "tampered.tar");
    await writeFile(tampered, tar);
    await expectRefused(tampered, 4, new RegExp(`digest mismatch for bundle entry "${name}" of bundle ${tampered.replace(/[.]/g, "\\.")}: expected ${layer}`));
  });

  it("refuses an entry that climbs out with ../ and one that is a symbolic link, naming each (exit 3)", async () => {
    const layout = Buffer.from('{"imageLayoutVersion":"1.0.0"}');
    const index = Buffer.from('{"schemaVersion":2,"manifests":[]}');
    const climbing = path.join(work, "climbing.tar");
    await writeFile(climbing, tarOf([{ name: "oci-layout", data: layout }, { name: "index.json", data: index }, { name: "../outside", data: Buffer.from("x") }]));
    await expectRefused(climbing, 3, /bundle entry "\.\.\/outside" is refused: its path climbs out of the layout/);
    const linked = path.join(work, "linked.tar");
    await writeFile(linked, tarOf([{ name: "oci-layout", data: layout }, { name: "blobs/sha256/evil", type: "SymbolicLink", linkpath: "/etc/passwd" }, { name: "index.json", data: index }]));
    await expectRefused(linked, 3, /bundle entry "blobs\/sha256\/evil" is refused: it is a symbolic link/);
  });

  it("refuses standard input: a bundle is read twice", async () => {
    const result = await runKit(["load", "-"], { env: env(path.join(work, "never")) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("reads a bundle file, not standard input");
  });
});

describe("kit load into the local store", () => {
  it("records the kit under its original reference and serves kit pull NAME@sha256:… offline; the image stays through gc and out of kit ls", async () => {
    const file = path.join(work, "offline.tar");
    expect((await runKit(["save", kitRef, "-o", file], { env: env(await temp("store")) })).code).toBe(0);
    await source.stop(); // from here on, nothing can come from the source registry
    const store = path.join(await temp("offline"), "store");
    const loaded = await runKit(["load", file], { env: env(store) });
    expect(loaded.stderr).toBe("");
    expect(loaded.stdout).toContain(`loaded kit famiglia 1.0.0 ${kitRef}`);
    const pulled = await runKit(["pull", `famiglia@${kitDigest}`, "--json"], { env: env(store) });
    expect(pulled.stderr).toBe("");
    expect(JSON.parse(pulled.stdout)).toMatchObject({ reference: `${source.host}/kits/famiglia@${kitDigest}`, digest: kitDigest, image: `${imageRef}@${image.digest}` });
    const ls = JSON.parse((await runKit(["ls", "--json"], { env: env(store) })).stdout);
    expect(ls.kits).toEqual([{ name: "famiglia", version: "1.0.0", reference: kitRef, digest: kitDigest, image: `${imageRef}@${image.digest}` }]);
    expect(JSON.parse((await runKit(["gc", "--json"], { env: env(store) })).stdout).removedBlobs).toBe(0);
    const verified = JSON.parse((await runKit(["store", "verify", "--json"], { env: env(store) })).stdout);
    expect(verified).toMatchObject({ ok: true, blobs: image.descriptors.length + 4 });
    // skopeo reads the image from the store by its original reference.
    const raw = await skopeoBytes(["inspect", "--raw", `oci:${store}:${imageRef}`]);
    expect(`sha256:${createHash("sha256").update(raw).digest("hex")}`).toBe(image.digest);
  });
});
