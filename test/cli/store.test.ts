/**
 * `kit ls`, `kit rm`, `kit gc` on a store populated through the library, run
 * as the built CLI (`npm run build` first) with $KIT_STORE pointing at it.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildKitArtifact, type KitArtifact } from "../../src/kit/artifact.js";
import { parseKitManifest } from "../../src/kit/load.js";
import { KitStore } from "../../src/kit/store.js";
import { runKit } from "../support/cli.js";

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
    expect(result.stderr).toBe(`kit: error: no kit matching "nothing:1.0.0" in the local store ${storePath}\nkit: hint: run "kit ls" to see what it holds\n`);
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
        `kit: error: kit famiglia:1.0.0 is not in the local store: the local store ${storePath} is empty\nkit: hint: pull it by its registry reference first, e.g. kit pull REGISTRY/REPO@sha256:…\n`,
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

  it("says the store is empty for a missing store, and creates nothing", async () => {
    const env = { env: { KIT_STORE: join(work, "missing") } };
    expect(await runKit(["gc"], env)).toEqual({ code: 0, stdout: `the local store ${join(work, "missing")} is empty: nothing to collect\n`, stderr: "" });
    expect(JSON.parse((await runKit(["gc", "--json"], env)).stdout)).toEqual({ removedBlobs: 0, freedBytes: 0 });
    await expect(stat(join(work, "missing"))).rejects.toThrow();
  });
});
