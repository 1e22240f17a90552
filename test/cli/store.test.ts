/**
 * `kit ls`, `kit rm`, `kit gc`, `kit store verify` on a store populated
 * through the library, and on an OCI layout `kit copy` wrote from a real
 * registry, run as the built CLI (`npm run build` first) with $KIT_STORE
 * pointing at the store.
 */
import { mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildKitArtifact, KIT_ARTIFACT_TYPE, type KitArtifact } from "../../src/kit/artifact.js";
import { parseKitManifest } from "../../src/kit/load.js";
import { KitStore } from "../../src/kit/store.js";
import { digestOf } from "../../src/oras/digest.js";
import { OciLayout } from "../../src/oras/layout/store.js";
import { runKit } from "../support/cli.js";
import { buildImageIndex, type BuiltImageIndex } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { treeSnapshot } from "../support/tree.js";

const IMAGE = `ghcr.io/kit/base:latest@sha256:${"b".repeat(64)}`;

function kit(name: string, version: string, pinned = true): KitArtifact {
  const yaml = Buffer.from(`name: ${name}\nversion: "${version}"\nimage: ghcr.io/kit/base:latest\n`);
  return buildKitArtifact({ manifest: parseKitManifest(yaml), kitYaml: yaml, readme: Buffer.from(`# ${name}\n`), ...(pinned ? { pinnedImage: IMAGE } : {}) });
}

let work: string;
let storePath: string;
let famiglia: KitArtifact;
let openclaw: KitArtifact;
const kitEnv = () => ({ env: { KIT_STORE: storePath } });

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "kit-cli-store-"));
  storePath = join(work, "store");
  famiglia = kit("famiglia", "1.0.0");
  openclaw = kit("openclaw", "0.2.0", false);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function populate(): Promise<KitStore> {
  const store = await KitStore.open(storePath);
  await store.add(famiglia, famiglia.kit, ["ghcr.io/org/famiglia-kit:1.0.0", "ghcr.io/org/famiglia-kit:latest"]);
  await store.add(openclaw, openclaw.kit, ["localhost:5000/openclaw:0.2.0"]);
  return store;
}

describe("kit ls", () => {
  it("prints a table of every recorded reference, short digests fitting 100 columns", async () => {
    await populate();
    const result = await runKit(["ls"], kitEnv());
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+REFERENCE\s+DIGEST\s+IMAGE$/);
    const short = (digest: string) => digest.slice(0, "sha256:".length + 12);
    const fd = short(famiglia.manifest.descriptor.digest);
    const image = short(IMAGE.split("@")[1]!);
    expect(lines[1]!.split(/\s+/)).toEqual(["famiglia", "1.0.0", "ghcr.io/org/famiglia-kit:1.0.0", fd, image]);
    expect(lines[2]!.split(/\s+/)).toEqual(["famiglia", "1.0.0", "ghcr.io/org/famiglia-kit:latest", fd, image]);
    expect(lines[3]!.split(/\s+/)).toEqual(["openclaw", "0.2.0", "localhost:5000/openclaw:0.2.0", short(openclaw.manifest.descriptor.digest), "(unpinned)"]);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    // Columns line up: every REFERENCE starts where its header does.
    const column = lines[0]!.indexOf("REFERENCE");
    for (const line of lines.slice(1)) expect(line.slice(column)).toMatch(/^(ghcr|localhost)/);
  });

  it("prints full digests and pinned images with --no-trunc", async () => {
    await populate();
    const lines = (await runKit(["ls", "--no-trunc"], kitEnv())).stdout.trimEnd().split("\n");
    expect(lines[1]!.split(/\s+/)).toEqual(["famiglia", "1.0.0", "ghcr.io/org/famiglia-kit:1.0.0", famiglia.manifest.descriptor.digest, IMAGE]);
    expect(lines[3]!.split(/\s+/).at(-1)).toBe("(unpinned)");
  });

  it("prints one JSON document with --json", async () => {
    await populate();
    const result = await runKit(["ls", "--json"], kitEnv());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      kits: [
        { name: "famiglia", version: "1.0.0", reference: "ghcr.io/org/famiglia-kit:1.0.0", digest: famiglia.manifest.descriptor.digest, image: IMAGE },
        { name: "famiglia", version: "1.0.0", reference: "ghcr.io/org/famiglia-kit:latest", digest: famiglia.manifest.descriptor.digest, image: IMAGE },
        { name: "openclaw", version: "0.2.0", reference: "localhost:5000/openclaw:0.2.0", digest: openclaw.manifest.descriptor.digest, image: null },
      ],
    });
  });

  it('says "no kits" for an empty or missing store, and does not create it', async () => {
    const none = { code: 0, stdout: `no kits in the local store ${storePath}\n`, stderr: "" };
    expect(await runKit(["ls"], kitEnv())).toEqual(none);
    expect(JSON.parse((await runKit(["ls", "--json"], kitEnv())).stdout)).toEqual({ kits: [] });
    await expect(stat(storePath)).rejects.toThrow();
    await KitStore.open(storePath);
    expect(await runKit(["ls"], kitEnv())).toEqual(none);
  });
});

describe("kit rm", () => {
  it("removes the entries a reference matches and prints each", async () => {
    await populate();
    const result = await runKit(["rm", "famiglia"], kitEnv());
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toBe("ghcr.io/org/famiglia-kit:1.0.0\nghcr.io/org/famiglia-kit:latest\n");
    expect((await (await KitStore.open(storePath)).list()).map((e) => e.reference)).toEqual(["localhost:5000/openclaw:0.2.0"]);
  });

  it("takes full references, by tag or digest", async () => {
    await populate();
    expect((await runKit(["rm", "ghcr.io/org/famiglia-kit:latest"], kitEnv())).stdout).toBe("ghcr.io/org/famiglia-kit:latest\n");
    const byDigest = await runKit(["rm", `localhost:5000/openclaw@${openclaw.manifest.descriptor.digest}`], kitEnv());
    expect(byDigest).toMatchObject({ code: 0, stdout: "localhost:5000/openclaw:0.2.0\n" });
  });

  it("exits 5 with a kit: error line when nothing matches", async () => {
    await populate();
    const result = await runKit(["rm", "nothing:1.0.0"], kitEnv());
    expect(result.code).toBe(5);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`kit: error: no kit matching "nothing:1.0.0" in the local store ${storePath}\nkit: hint: pull it by its registry reference first ("kit pull REGISTRY/REPO@sha256:…"); "kit ls" lists what the store holds\n`);
    const missing = await runKit(["rm", "famiglia"], { env: { KIT_STORE: join(work, "missing") } });
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(new RegExp(`^kit: error: kit famiglia is not in the local store: the local store ${join(work, "missing")} is empty\n`));
    await expect(stat(join(work, "missing"))).rejects.toThrow();
  });

  it("exits 2 for a reference that does not parse", async () => {
    await populate();
    const result = await runKit(["rm", "ghcr.io/Org/x:1"], kitEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^kit: error: invalid repository path component "Org"/);
  });
});

describe("a missing store", () => {
  it("kit inspect and kit pull of a store name say the local store is empty, and create nothing", async () => {
    for (const command of ["inspect", "pull"]) {
      const result = await runKit([command, "famiglia:1.0.0"], kitEnv());
      expect(result.code, command).toBe(5);
      expect(result.stderr).toBe(
        `kit: error: kit famiglia:1.0.0 is not in the local store: the local store ${storePath} is empty\nkit: hint: pull it by its registry reference first ("kit pull REGISTRY/REPO@sha256:…"); "kit ls" lists what the store holds\n`,
      );
    }
    await expect(stat(storePath)).rejects.toThrow();
  });
});

describe("kit gc", () => {
  it("deletes the blobs of removed kits and reports counts and bytes", async () => {
    await populate();
    expect((await runKit(["gc"], kitEnv())).stdout).toBe("removed 0 blobs, freed 0 bytes\n");
    await runKit(["rm", "openclaw"], kitEnv());
    const blobs = [openclaw.manifest, openclaw.config, ...openclaw.layers];
    const result = await runKit(["gc", "--json"], kitEnv());
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(result.stdout)).toEqual({ removedBlobs: 4, freedBytes: blobs.reduce((n, b) => n + b.descriptor.size, 0) });
    const store = await KitStore.open(storePath);
    expect((await store.read(famiglia.manifest.descriptor.digest)).kit.name).toBe("famiglia");
    await expect(store.read(openclaw.manifest.descriptor.digest, { allowUnpinned: true })).rejects.toThrow(/not in the local store/);
  });

  it("exits 3 and deletes nothing when the store's blobs/sha256 is a symbolic link out of it", async () => {
    await populate();
    expect((await runKit(["rm", "openclaw"], kitEnv())).code).toBe(0);
    // The link points at a directory of blob-named files outside the store: a gc through it would delete openclaw's.
    const outside = join(work, "outside");
    await rename(join(storePath, "blobs", "sha256"), outside);
    await symlink(outside, join(storePath, "blobs", "sha256"));
    const before = await treeSnapshot(outside);
    for (const args of [["gc"], ["store", "verify"], ["ls"], ["gc", "--layout", storePath]]) {
      const result = await runKit(args, kitEnv());
      expect(result.code, args.join(" ")).toBe(3);
      expect(result.stderr).toMatch(/^kit: error: (the local store|oci:).* is refused: blobs\/sha256 is a symbolic link, so its blobs would be written and deleted outside the layout\n/);
    }
    expect(await treeSnapshot(outside)).toEqual(before);
  });

  it("says the store is empty for a missing store, and creates nothing", async () => {
    const env = { env: { KIT_STORE: join(work, "missing") } };
    expect(await runKit(["gc"], env)).toEqual({ code: 0, stdout: `the local store ${join(work, "missing")} is empty: nothing to collect\n`, stderr: "" });
    expect(JSON.parse((await runKit(["gc", "--json"], env)).stdout)).toEqual({ removedBlobs: 0, freedBytes: 0 });
    await expect(stat(join(work, "missing"))).rejects.toThrow();
  });
});

function blobFile(layout: string, digest: string): string {
  return join(layout, "blobs", ...digest.split(":"));
}

async function flipFirstByte(file: string): Promise<string> {
  const bytes = await readFile(file);
  bytes[0] = bytes[0]! ^ 0xff;
  await writeFile(file, bytes);
  return digestOf(bytes);
}

describe("kit store verify", () => {
  const kitBlobs = (k: KitArtifact) => [k.manifest, k.config, ...k.layers];
  const storeBytes = () => [...kitBlobs(famiglia), ...kitBlobs(openclaw)].reduce((n, b) => n + b.descriptor.size, 0);

  it("exits 0 on an intact store and says what it checked", async () => {
    await populate();
    const result = await runKit(["store", "verify"], kitEnv());
    expect(result).toEqual({ code: 0, stdout: `verified 8 blobs (${storeBytes()} bytes) and 2 manifests in the local store ${storePath}: no problems\n`, stderr: "" });
  });

  it("exits 4 naming the blob whose bytes were changed", async () => {
    await populate();
    const readme = famiglia.layers[1]!.descriptor.digest;
    const actual = await flipFirstByte(blobFile(storePath, readme));
    const result = await runKit(["store", "verify"], kitEnv());
    expect(result).toMatchObject({ code: 4, stdout: "" });
    expect(result.stderr).toBe(
      `${readme}: digest mismatch: its bytes hash to ${actual}\n` +
        `kit: error: the local store ${storePath} failed verification: 1 problem (1 digest mismatch)\n` +
        "kit: hint: copy the damaged or missing content again from its source, or remove what names it\n",
    );
  });

  it("exits 4 naming the manifest whose blob was deleted", async () => {
    await populate();
    const kitYaml = openclaw.layers[0]!.descriptor.digest;
    await rm(blobFile(storePath, kitYaml));
    const result = await runKit(["store", "verify"], kitEnv());
    expect(result.code).toBe(4);
    expect(result.stderr.split("\n")[0]).toBe(`${kitYaml}: missing: the layer of manifest ${openclaw.manifest.descriptor.digest}`);
  });

  it("prints the report as one JSON document with --json, with the same exit code", async () => {
    await populate();
    expect(JSON.parse((await runKit(["store", "verify", "--json"], kitEnv())).stdout)).toEqual({
      layout: storePath,
      ok: true,
      blobs: 8,
      bytes: storeBytes(),
      manifests: 2,
      problems: [],
    });
    const config = famiglia.config.descriptor.digest;
    await rm(blobFile(storePath, config));
    const result = await runKit(["store", "verify", "--json"], kitEnv());
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toEqual({
      layout: storePath,
      ok: false,
      blobs: 7,
      bytes: storeBytes() - famiglia.config.descriptor.size,
      manifests: 2,
      problems: [
        {
          problem: "missing-child",
          digest: config,
          manifest: famiglia.manifest.descriptor.digest,
          role: "config",
          message: `missing: the config of manifest ${famiglia.manifest.descriptor.digest}`,
        },
      ],
    });
    expect(result.stderr).toMatch(/^kit: error: the local store .* failed verification: 1 problem \(1 missing\)\n/);
  });

  it("never changes the store, damaged or not", async () => {
    await populate();
    await flipFirstByte(blobFile(storePath, openclaw.config.descriptor.digest));
    await rm(blobFile(storePath, famiglia.layers[0]!.descriptor.digest));
    const before = await treeSnapshot(storePath);
    expect((await runKit(["store", "verify"], kitEnv())).code).toBe(4);
    expect((await runKit(["store", "verify", "--json"], kitEnv())).code).toBe(4);
    expect(await treeSnapshot(storePath)).toEqual(before);
  });

  it("exits 0 for a missing store and does not create it", async () => {
    const result = await runKit(["store", "verify", "--json"], kitEnv());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, blobs: 0, problems: [] });
    await expect(stat(storePath)).rejects.toThrow();
  });
});

describe("kit store gc", () => {
  it("is kit gc", async () => {
    await populate();
    await runKit(["rm", "openclaw"], kitEnv());
    const result = await runKit(["store", "gc", "--json"], kitEnv());
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(result.stdout)).toEqual({ removedBlobs: 4, freedBytes: [openclaw.manifest, openclaw.config, ...openclaw.layers].reduce((n, b) => n + b.descriptor.size, 0) });
  });
});

describe("--layout: gc and verify on an OCI layout written by kit copy", () => {
  let registry: RunningRegistry;
  let image: BuiltImageIndex;
  beforeAll(async () => {
    registry = await startRegistry();
    image = await buildImageIndex({ url: registry.url, repo: "src/app" }, { layerSizes: [4096, 64 * 1024], tag: "v1", seed: "store-verify" });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  async function copied(): Promise<string> {
    const layout = join(work, "mirror");
    expect((await runKit(["copy", `${registry.host}/src/app:v1`, `oci:${layout}`])).code).toBe(0);
    return layout;
  }

  it("verifies the copy, then names a flipped layer and a deleted platform manifest", async () => {
    const layout = await copied();
    const clean = await runKit(["store", "verify", "--layout", layout], kitEnv());
    expect(clean).toEqual({
      code: 0,
      stdout: `verified ${image.descriptors.length} blobs (${image.descriptors.reduce((n, d) => n + d.size, 0)} bytes) and 3 manifests in oci:${layout}: no problems\n`,
      stderr: "",
    });
    const layer = image.images[0]!.layers[0]!.digest;
    const actual = await flipFirstByte(blobFile(layout, layer));
    const platform = image.images[1]!.manifest.digest;
    await rm(blobFile(layout, platform));
    const before = await treeSnapshot(layout);
    const damaged = await runKit(["store", "verify", "--layout", `oci:${layout}`], kitEnv());
    expect(damaged.code).toBe(4);
    expect(damaged.stderr.split("\n").slice(0, 3)).toEqual([
      `${layer}: digest mismatch: its bytes hash to ${actual}`,
      `${platform}: missing: the manifest of manifest ${image.digest}`,
      `kit: error: oci:${layout} failed verification: 2 problems (1 digest mismatch, 1 missing)`,
    ]);
    expect(await treeSnapshot(layout)).toEqual(before);
    // The local store was not involved.
    await expect(stat(storePath)).rejects.toThrow();
  });

  it("collects garbage in the layout with kit gc --layout and kit store gc --layout", async () => {
    const layout = await copied();
    const stray = Buffer.from("nobody references me");
    await writeFile(blobFile(layout, digestOf(stray)), stray);
    expect(await runKit(["gc", "--layout", layout], kitEnv())).toEqual({ code: 0, stdout: `removed 1 blobs, freed ${stray.length} bytes\n`, stderr: "" });
    await expect(stat(blobFile(layout, digestOf(stray)))).rejects.toThrow();
    expect(JSON.parse((await runKit(["store", "gc", "--layout", `oci:${layout}`, "--json"], kitEnv())).stdout)).toEqual({ removedBlobs: 0, freedBytes: 0 });
    expect((await runKit(["store", "verify", "--layout", layout], kitEnv())).code).toBe(0);
  });

  it("exits 5 for a directory that is not there, and creates nothing", async () => {
    const missing = join(work, "nothing");
    expect((await runKit(["store", "verify", "--layout", missing])).code).toBe(5);
    expect((await runKit(["gc", "--layout", missing])).code).toBe(5);
    await expect(stat(missing)).rejects.toThrow();
  });
});

describe("entries kit copy writes into the store", () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  /** Kit "other" in a layout, claiming to be famiglia in its manifest's title and in its index entry's annotations. */
  async function craftedLayout(): Promise<{ dir: string; digest: string }> {
    const real = kit("other", "6.6.6");
    const doc = JSON.parse(Buffer.from(real.manifest.bytes).toString("utf8")) as { annotations: Record<string, string> };
    doc.annotations["org.opencontainers.image.title"] = "famiglia";
    const bytes = Buffer.from(JSON.stringify(doc));
    const desc = { mediaType: real.manifest.descriptor.mediaType, digest: digestOf(bytes), size: bytes.length };
    const dir = join(work, "crafted");
    const layout = await OciLayout.open(dir, { create: true });
    for (const blob of [real.config, ...real.layers]) await layout.push(blob.descriptor, blob.bytes);
    const claims = { "org.opencontainers.image.title": "famiglia", "org.opencontainers.image.version": "1.0.0" };
    await layout.pushReference({ ...desc, artifactType: KIT_ARTIFACT_TYPE, annotations: claims }, bytes, "1");
    return { dir, digest: desc.digest };
  }

  it("are listed and found under the name their validated config gives, never the one their annotations claim", async () => {
    const crafted = await craftedLayout();
    expect((await runKit(["copy", `oci:${crafted.dir}:1`, `${registry.host}/evil/kit:1`])).code).toBe(0);
    // From a registry (the manifest's title lies) and from a layout (its index entry's annotations lie too).
    for (const [src, tag] of [[`${registry.host}/evil/kit:1`, "from-registry"], [`oci:${crafted.dir}:1`, "from-layout"]] as const) {
      const copied = await runKit(["copy", src, `oci:${storePath}:${tag}`]);
      expect(copied, copied.stderr).toMatchObject({ code: 0 });
    }
    const index = JSON.parse(await readFile(join(storePath, "index.json"), "utf8")) as { manifests: Array<{ annotations: Record<string, string> }> };
    expect(index.manifests.find((m) => m.annotations["org.opencontainers.image.ref.name"] === "from-layout")?.annotations["org.opencontainers.image.title"]).toBe("famiglia");

    const listed = JSON.parse((await runKit(["ls", "--json"], kitEnv())).stdout) as { kits: Array<{ name: string; version: string; reference: string }> };
    expect(listed.kits.map((k) => [k.reference, k.name, k.version])).toEqual([
      ["from-layout", "other", "6.6.6"],
      ["from-registry", "other", "6.6.6"],
    ]);
    for (const command of [["pull", "famiglia"], ["inspect", "famiglia"], ["pull", `famiglia@${crafted.digest}`], ["rm", "famiglia"]]) {
      const result = await runKit(command, kitEnv());
      expect(result.code, command.join(" ")).toBe(5);
      expect(result.stderr).toMatch(/^kit: error: (kit famiglia.* is not in the local store|no kit matching "famiglia")/);
    }
    expect((await runKit(["store", "verify"], kitEnv())).code).toBe(0);
  });
});
