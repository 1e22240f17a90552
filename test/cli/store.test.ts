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
  it("prints a table of every recorded reference", async () => {
    await populate();
    const result = await runKit(["ls"], kitEnv());
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+REFERENCE\s+DIGEST\s+IMAGE$/);
    const fd = famiglia.manifest.descriptor.digest;
    expect(lines[1]!.split(/\s+/)).toEqual(["famiglia", "1.0.0", "ghcr.io/org/famiglia-kit:1.0.0", fd, IMAGE]);
    expect(lines[2]!.split(/\s+/)).toEqual(["famiglia", "1.0.0", "ghcr.io/org/famiglia-kit:latest", fd, IMAGE]);
    expect(lines[3]!.split(/\s+/)).toEqual(["openclaw", "0.2.0", "localhost:5000/openclaw:0.2.0", openclaw.manifest.descriptor.digest, "(unpinned)"]);
    // Columns line up: every REFERENCE starts where its header does.
    const column = lines[0]!.indexOf("REFERENCE");
    for (const line of lines.slice(1)) expect(line.slice(column)).toMatch(/^(ghcr|localhost)/);
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

  it("prints nothing for an empty or missing store, and does not create it", async () => {
    expect(await runKit(["ls"], kitEnv())).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(JSON.parse((await runKit(["ls", "--json"], kitEnv())).stdout)).toEqual({ kits: [] });
    await expect(stat(storePath)).rejects.toThrow();
    await KitStore.open(storePath);
    expect(await runKit(["ls"], kitEnv())).toEqual({ code: 0, stdout: "", stderr: "" });
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
    expect((await runKit(["rm", "famiglia"], { env: { KIT_STORE: join(work, "missing") } })).code).toBe(5);
  });

  it("exits 2 for a reference that does not parse", async () => {
    await populate();
    const result = await runKit(["rm", "ghcr.io/Org/x:1"], kitEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^kit: error: invalid repository path component "Org"/);
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

  it("reports nothing removed for a missing store", async () => {
    expect(await runKit(["gc"], { env: { KIT_STORE: join(work, "missing") } })).toEqual({ code: 0, stdout: "removed 0 blobs, freed 0 bytes\n", stderr: "" });
  });
});
