/**
 * The local kit store: recording, reading (every byte verified), matching,
 * removing and collecting garbage, on a real OCI layout in a temp directory.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildKitArtifact, KIT_ARTIFACT_TYPE, type KitArtifact } from "../../src/kit/artifact.js";
import { parseKitManifest } from "../../src/kit/load.js";
import { KitManifestSchema } from "../../src/kit/schema.js";
import { isKitName } from "../../src/kit/format.js";
import { defaultStorePath, isShortKitReference, KitStore, parseShortKitReference } from "../../src/kit/store.js";
import { KIT_CHECKS } from "../../src/kit/store-validated.js";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { DigestMismatchError, InvalidContentError, InvalidReferenceError, NotFoundError } from "../../src/oras/errors.js";
import { FileLock } from "../../src/oras/lock.js";

const run = promisify(execFile);
const IMAGE_DIGEST = `sha256:${"b".repeat(64)}`;
const SHARED_README = Buffer.from("# shared readme\n");

function kit(name: string, version = "1.0.0", opts: { readme?: Buffer; pinned?: boolean } = {}): KitArtifact {
  const yaml = Buffer.from(`name: ${name}\nversion: "${version}"\nimage: ghcr.io/kit/base:latest\n`);
  return buildKitArtifact({
    manifest: parseKitManifest(yaml),
    kitYaml: yaml,
    readme: opts.readme ?? Buffer.from(`# ${name} ${version}\n`),
    ...(opts.pinned === false ? {} : { pinnedImage: `ghcr.io/kit/base:latest@${IMAGE_DIGEST}` }),
  });
}

function blobFile(store: KitStore, digest: string): string {
  return join(store.path, "blobs", ...digest.split(":"));
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

interface IndexJson {
  manifests: Descriptor[];
}

async function indexJson(store: KitStore): Promise<IndexJson> {
  return JSON.parse(await readFile(join(store.path, "index.json"), "utf8")) as IndexJson;
}

let work: string;
let store: KitStore;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "kit-store-"));
  store = await KitStore.open(join(work, "store"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("the zod-free kit-name rule", () => {
  it("agrees with the schema's name field", () => {
    for (const name of ["famiglia", "a", "famiglia-kit", "k8s", "x".repeat(63), "x".repeat(64), "-a", "a-", "A", "a_b", "a.b", ""]) {
      expect(isKitName(name), name).toBe(KitManifestSchema.shape.name.safeParse(name).success);
    }
  });
});

describe("defaultStorePath", () => {
  it("is $KIT_STORE when set, else ~/.aegis/kits/store", () => {
    expect(defaultStorePath({ KIT_STORE: "/srv/kits" })).toBe("/srv/kits");
    expect(defaultStorePath({})).toBe(join(homedir(), ".aegis/kits/store"));
    expect(defaultStorePath({ KIT_STORE: "" })).toBe(join(homedir(), ".aegis/kits/store"));
  });
});

describe("short kit references", () => {
  const digest = `sha256:${"c".repeat(64)}`;

  it("are NAME, NAME:TAG, NAME@DIGEST and NAME:TAG@DIGEST with no slash", () => {
    expect(parseShortKitReference("famiglia")).toEqual({ name: "famiglia" });
    expect(parseShortKitReference("famiglia:1.0.0")).toEqual({ name: "famiglia", tag: "1.0.0" });
    expect(parseShortKitReference(`famiglia@${digest}`)).toEqual({ name: "famiglia", digest });
    expect(parseShortKitReference(`famiglia:1.0.0@${digest}`)).toEqual({ name: "famiglia", tag: "1.0.0", digest });
    for (const text of ["famiglia", "famiglia:1.0.0", `famiglia@${digest}`, "my-kit:latest"]) expect(isShortKitReference(text), text).toBe(true);
  });

  it("are not registry references, upper-case names or malformed tags and digests", () => {
    for (const text of ["ghcr.io/org/famiglia:1.0.0", "library/famiglia", "Famiglia", "famiglia:", "famiglia:.x", "famiglia@sha256:abc", "fam_iglia", ""]) {
      expect(isShortKitReference(text), text).toBe(false);
    }
    expect(() => parseShortKitReference("org/famiglia")).toThrow(InvalidReferenceError);
    expect(() => parseShortKitReference("famiglia@sha256:abc")).toThrow(/invalid sha256 digest/);
    expect(() => parseShortKitReference("Famiglia:1")).toThrow(/not a kit name/);
  });
});

describe("KitStore.add and list", () => {
  it("records the kit under each reference with its name, version and pinned image on the index entry", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0", "ghcr.io/org/famiglia-kit:latest"]);
    const index = await indexJson(store);
    expect(index.manifests).toHaveLength(2);
    for (const entry of index.manifests) {
      expect(entry).toMatchObject({
        mediaType: MediaType.ImageManifest,
        digest: a.manifest.descriptor.digest,
        size: a.manifest.descriptor.size,
        artifactType: KIT_ARTIFACT_TYPE,
        annotations: {
          "org.opencontainers.image.title": "famiglia",
          "org.opencontainers.image.version": "1.0.0",
          "dev.aegis.kit.image": `ghcr.io/kit/base:latest@${IMAGE_DIGEST}`,
        },
      });
    }
    expect(index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"]).sort()).toEqual([
      "ghcr.io/org/famiglia-kit:1.0.0",
      "ghcr.io/org/famiglia-kit:latest",
    ]);
    for (const blob of [a.config, ...a.layers, a.manifest]) expect(await readFile(blobFile(store, blob.descriptor.digest))).toEqual(blob.bytes);
    expect(await store.list()).toEqual([
      { reference: "ghcr.io/org/famiglia-kit:1.0.0", digest: a.manifest.descriptor.digest, name: "famiglia", version: "1.0.0", image: `ghcr.io/kit/base:latest@${IMAGE_DIGEST}` },
      { reference: "ghcr.io/org/famiglia-kit:latest", digest: a.manifest.descriptor.digest, name: "famiglia", version: "1.0.0", image: `ghcr.io/kit/base:latest@${IMAGE_DIGEST}` },
    ]);
  });

  it("is idempotent: adding the same kit again changes nothing on disk", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const before = await readFile(join(store.path, "index.json"));
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    expect(await readFile(join(store.path, "index.json"))).toEqual(before);
  });

  it("records digest references and spells out Docker Hub names; a tag with a digest is recorded by its tag", async () => {
    const a = kit("famiglia");
    const d = a.manifest.descriptor.digest;
    await store.add(a, a.kit, [`ghcr.io/org/famiglia-kit@${d}`, "org/famiglia-kit:1.0.0", `ghcr.io/org/other:2@${d}`]);
    expect((await store.list()).map((e) => e.reference)).toEqual(["docker.io/org/famiglia-kit:1.0.0", `ghcr.io/org/famiglia-kit@${d}`, "ghcr.io/org/other:2"]);
  });

  it("refuses references without tag or digest, or naming another digest, before writing anything", async () => {
    const a = kit("famiglia");
    await expect(store.add(a, a.kit, ["ghcr.io/org/famiglia-kit"])).rejects.toThrow(/neither a tag nor a digest/);
    await expect(store.add(a, a.kit, [`ghcr.io/org/famiglia-kit@sha256:${"d".repeat(64)}`])).rejects.toThrow(InvalidReferenceError);
    await expect(store.add(a, a.kit, [])).rejects.toThrow(/no reference given/);
    expect(await exists(blobFile(store, a.config.descriptor.digest))).toBe(false);
    expect((await indexJson(store)).manifests).toEqual([]);
  });

  it("refuses a manifest naming a blob it was not given", async () => {
    const a = kit("famiglia");
    await expect(store.add({ ...a, layers: [a.layers[0]] }, a.kit, ["ghcr.io/org/famiglia-kit:1"])).rejects.toThrow(InvalidContentError);
    expect((await indexJson(store)).manifests).toEqual([]);
  });

  it("omits the image of an unpinned kit and sorts by name, then reference", async () => {
    const z = kit("zeta", "2.0.0", { pinned: false });
    const a = kit("alpha");
    await store.add(z, z.kit, ["ghcr.io/org/zeta:2.0.0"]);
    await store.add(a, a.kit, ["ghcr.io/org/z-alpha:1.0.0", "ghcr.io/org/a-alpha:1.0.0"]);
    const list = await store.list();
    expect(list.map((e) => [e.name, e.reference])).toEqual([
      ["alpha", "ghcr.io/org/a-alpha:1.0.0"],
      ["alpha", "ghcr.io/org/z-alpha:1.0.0"],
      ["zeta", "ghcr.io/org/zeta:2.0.0"],
    ]);
    expect(list[2]).not.toHaveProperty("image");
  });

  it("lists a kit tagged by another tool without our index annotations, from its manifest, and skips non-kits", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const plain = { mediaType: MediaType.ImageManifest, digest: a.manifest.descriptor.digest, size: a.manifest.descriptor.size };
    await store.layout.tag(plain, "ghcr.io/mirror/famiglia-kit:1.0.0");
    const other = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: a.config.descriptor, layers: [] }));
    const otherDesc = { mediaType: MediaType.ImageManifest, digest: digestOf(other), size: other.length };
    await store.layout.pushReference(otherDesc, other, "ghcr.io/org/not-a-kit:1");
    expect((await store.list()).map((e) => [e.reference, e.name, e.version])).toEqual([
      ["ghcr.io/mirror/famiglia-kit:1.0.0", "famiglia", "1.0.0"],
      ["ghcr.io/org/famiglia-kit:1.0.0", "famiglia", "1.0.0"],
    ]);
  });
});

/** Kit `actual` whose manifest's title annotation claims it is `claimed`, as a crafted artifact would. */
function lyingKit(actual: string, claimed: string): KitArtifact {
  const real = kit(actual);
  const doc = JSON.parse(Buffer.from(real.manifest.bytes).toString("utf8")) as { annotations: Record<string, string> };
  doc.annotations["org.opencontainers.image.title"] = claimed;
  const bytes = Buffer.from(JSON.stringify(doc));
  return { ...real, manifest: { descriptor: { ...real.manifest.descriptor, digest: digestOf(bytes), size: bytes.length }, bytes } };
}

/**
 * Write a kit into the store's layout the way `kit copy` or skopeo does: blobs, then an entry whose descriptor is what
 * the source resolved to (a registry: media type, digest, size; a layout: its index entry, plus `entry`).
 */
async function writeForeign(k: KitArtifact, name: string, entry: Partial<Descriptor> = {}): Promise<void> {
  for (const blob of [k.config, ...k.layers]) await store.layout.push(blob.descriptor, blob.bytes);
  const { mediaType, digest, size } = k.manifest.descriptor;
  await store.layout.pushReference({ mediaType, digest, size, ...entry }, k.manifest.bytes, name);
}

const validationRecord = (digest: string) => join(store.path, "kit-validated", ...digest.split(":"));

describe("entries another tool wrote (kit copy, skopeo): only validated kits are found", () => {
  it("names an entry by its validated config, not by a lying title annotation on the manifest", async () => {
    const liar = lyingKit("other", "famiglia");
    await writeForeign(liar, "ghcr.io/evil/kit:1");
    expect((await store.list()).map((e) => [e.reference, e.name, e.version])).toEqual([["ghcr.io/evil/kit:1", "other", "1.0.0"]]);
    expect(await store.find("famiglia")).toEqual([]);
    await expect(store.findOne("famiglia")).rejects.toThrow(NotFoundError);
    expect((await store.findOne("other")).digest).toBe(liar.manifest.descriptor.digest);
  });

  it("names an entry by its validated config, not by lying annotations on its index.json descriptor", async () => {
    // What copying from a crafted layout writes: the source's index entry descriptor, annotations and all.
    const other = kit("other", "2.0.0");
    const claims = { "org.opencontainers.image.title": "famiglia", "org.opencontainers.image.version": "1.0.0", "dev.aegis.kit.image": "ghcr.io/evil/image@sha256:" + "e".repeat(64) };
    await writeForeign(other, "ghcr.io/evil/kit:2", { artifactType: KIT_ARTIFACT_TYPE, annotations: claims });
    expect((await indexJson(store)).manifests[0]?.annotations).toMatchObject(claims);
    expect(await store.list()).toEqual([
      { reference: "ghcr.io/evil/kit:2", digest: other.manifest.descriptor.digest, name: "other", version: "2.0.0", image: `ghcr.io/kit/base:latest@${IMAGE_DIGEST}` },
    ]);
    expect(await store.find("famiglia")).toEqual([]);
  });

  it("leaves out an entry whose kit breaks an artifact rule, or whose blobs are missing", async () => {
    const good = kit("famiglia");
    // The config says "famiglia", its kit.yaml layer another kit: pull refuses it, so listing must too.
    const mixed = { ...good, layers: [kit("other").layers[0], good.layers[1]] as KitArtifact["layers"] };
    const doc = JSON.parse(Buffer.from(good.manifest.bytes).toString("utf8")) as { layers: Descriptor[] };
    doc.layers[0] = mixed.layers[0].descriptor;
    const bytes = Buffer.from(JSON.stringify(doc));
    await writeForeign({ ...mixed, manifest: { descriptor: { ...good.manifest.descriptor, digest: digestOf(bytes), size: bytes.length }, bytes } }, "ghcr.io/evil/mixed:1");
    const missing = kit("missing");
    await writeForeign(missing, "ghcr.io/evil/missing:1");
    await rm(blobFile(store, missing.config.descriptor.digest));
    expect(await store.list()).toEqual([]);
    expect(await store.find("famiglia")).toEqual([]);
    expect(await exists(validationRecord(digestOf(bytes)))).toBe(false);
  });

  it("records what it validated, so the next listing reads the record and no blob; gc prunes records of collected kits", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const b = lyingKit("other", "famiglia");
    await writeForeign(b, "ghcr.io/evil/kit:1");
    expect(await exists(validationRecord(a.manifest.descriptor.digest))).toBe(true);
    expect(await exists(validationRecord(b.manifest.descriptor.digest))).toBe(false);
    await store.list();
    expect(JSON.parse(await readFile(validationRecord(b.manifest.descriptor.digest), "utf8"))).toEqual({
      digest: b.manifest.descriptor.digest,
      name: "other",
      version: "1.0.0",
      image: `ghcr.io/kit/base:latest@${IMAGE_DIGEST}`,
      // The kit as validated, under these rules: it stands for the checks on the next read of these bytes.
      checks: KIT_CHECKS,
      kit: b.kit,
    });
    // A recorded kit is listed from its record even when a blob has since gone (pull then says the store is incomplete).
    await rm(blobFile(store, b.config.descriptor.digest));
    expect((await store.list()).map((e) => e.name)).toEqual(["famiglia", "other"]);
    await store.remove("other");
    await store.gc();
    expect(await exists(validationRecord(b.manifest.descriptor.digest))).toBe(false);
    expect(await exists(validationRecord(a.manifest.descriptor.digest))).toBe(true);
    expect((await store.list()).map((e) => e.name)).toEqual(["famiglia"]);
  });
});

describe("KitStore.read", () => {
  it("returns the verified bytes and the checked kit", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const stored = await (await KitStore.open(store.path, { create: false })).read(a.manifest.descriptor.digest);
    expect(stored.manifest).toEqual(a.manifest.bytes);
    expect(stored.config).toEqual(a.config.bytes);
    expect(stored.kitYaml).toEqual(a.layers[0].bytes);
    expect(stored.readme).toEqual(a.layers[1].bytes);
    expect(stored.kit).toEqual(a.kit);
    expect(stored.descriptor).toEqual({ ...a.manifest.descriptor, artifactType: KIT_ARTIFACT_TYPE });
  });

  it("refuses an unpinned kit unless allowed", async () => {
    const z = kit("zeta", "1.0.0", { pinned: false });
    await store.add(z, z.kit, ["ghcr.io/org/zeta:1.0.0"]);
    await expect(store.read(z.manifest.descriptor.digest)).rejects.toThrow(/unpinned/);
    expect((await store.read(z.manifest.descriptor.digest, { allowUnpinned: true })).kit.unpinned).toBe(true);
  });

  it("refuses a kit whose image annotation disagrees with its config's image", async () => {
    const a = kit("famiglia");
    const doc = JSON.parse(a.manifest.bytes.toString("utf8"));
    doc.annotations["dev.aegis.kit.image"] = `ghcr.io/kit/base:latest@sha256:${"c".repeat(64)}`;
    const bytes = Buffer.from(JSON.stringify(doc));
    const crafted = { ...a, manifest: { descriptor: { ...a.manifest.descriptor, digest: digestOf(bytes), size: bytes.length }, bytes } };
    await store.add(crafted, crafted.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const err = await store.read(digestOf(bytes)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidContentError);
    expect((err as Error).message).toMatch(/annotation dev\.aegis\.kit\.image names ghcr\.io\/kit\/base:latest@sha256:c{64}, but the kit config's image is ghcr\.io\/kit\/base:latest@sha256:b{64}$/);
  });

  it("throws DigestMismatchError when a stored blob was altered on disk", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const file = blobFile(store, a.layers[1].descriptor.digest);
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(file, bytes);
    await expect(store.read(a.manifest.descriptor.digest)).rejects.toThrow(DigestMismatchError);
  });

  it("throws NotFoundError saying the store is incomplete when a layer blob is missing", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    await rm(blobFile(store, a.layers[0].descriptor.digest));
    const err = await store.read(a.manifest.descriptor.digest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).message).toMatch(/is incomplete: the kit\.yaml blob sha256:[0-9a-f]{64} of kit sha256:[0-9a-f]{64} is missing/);
    expect((err as NotFoundError).hint).toBe(`pull the kit again: kit pull ghcr.io/org/famiglia-kit@${a.manifest.descriptor.digest}`);
  });

  it("throws NotFoundError for a digest it does not hold", async () => {
    await expect(store.read(`sha256:${"e".repeat(64)}`)).rejects.toThrow(NotFoundError);
    await expect(store.read("sha256:nope")).rejects.toThrow(InvalidReferenceError);
  });
});

describe("KitStore.find, knownReferencesFor and remove", () => {
  let a: KitArtifact;
  let a2: KitArtifact;
  let b: KitArtifact;
  beforeEach(async () => {
    a = kit("famiglia");
    a2 = kit("famiglia", "1.1.0");
    b = kit("openclaw");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0", "ghcr.io/org/famiglia-kit:stable"]);
    await store.add(a2, a2.kit, ["ghcr.io/org/famiglia-kit:1.1.0", `ghcr.io/mirror/famiglia@${a2.manifest.descriptor.digest}`]);
    await store.add(b, b.kit, ["ghcr.io/org/openclaw:1.0.0"]);
  });
  const refs = (entries: { reference: string }[]) => entries.map((e) => e.reference);

  it("matches a full tag reference exactly", async () => {
    expect(refs(await store.find("ghcr.io/org/famiglia-kit:stable"))).toEqual(["ghcr.io/org/famiglia-kit:stable"]);
    expect(await store.find("ghcr.io/org/famiglia-kit:9.9.9")).toEqual([]);
  });

  it("matches a digest reference against every entry of that repository with that digest", async () => {
    expect(refs(await store.find(`ghcr.io/org/famiglia-kit@${a.manifest.descriptor.digest}`))).toEqual(["ghcr.io/org/famiglia-kit:1.0.0", "ghcr.io/org/famiglia-kit:stable"]);
    expect(await store.find(`ghcr.io/other/famiglia-kit@${a.manifest.descriptor.digest}`)).toEqual([]);
  });

  it("matches short references by kit name, tag and digest", async () => {
    expect(refs(await store.find("famiglia"))).toHaveLength(4);
    expect(refs(await store.find("famiglia:stable"))).toEqual(["ghcr.io/org/famiglia-kit:stable"]);
    expect(refs(await store.find(`famiglia@${a2.manifest.descriptor.digest}`))).toEqual([`ghcr.io/mirror/famiglia@${a2.manifest.descriptor.digest}`, "ghcr.io/org/famiglia-kit:1.1.0"]);
    expect(await store.find(`openclaw@${a.manifest.descriptor.digest}`)).toEqual([]);
    expect(await store.find("nothing")).toEqual([]);
  });

  it("lists the registry references known for a name", async () => {
    expect(await store.knownReferencesFor("openclaw")).toEqual(["ghcr.io/org/openclaw:1.0.0"]);
    expect(await store.knownReferencesFor("nothing")).toEqual([]);
  });

  it("removes the matching entries and keeps their blobs until gc", async () => {
    const removed = await store.remove("famiglia:stable");
    expect(refs(removed)).toEqual(["ghcr.io/org/famiglia-kit:stable"]);
    expect(refs(await store.find("famiglia"))).not.toContain("ghcr.io/org/famiglia-kit:stable");
    expect(refs(await store.remove(`famiglia@${a.manifest.descriptor.digest}`))).toEqual(["ghcr.io/org/famiglia-kit:1.0.0"]);
    expect(await exists(blobFile(store, a.manifest.descriptor.digest))).toBe(true);
    await expect(store.remove("famiglia:stable")).rejects.toThrow(NotFoundError);
    // A reopened store sees the same thing: the removal is on disk.
    expect(refs(await (await KitStore.open(store.path)).list())).toEqual([
      `ghcr.io/mirror/famiglia@${a2.manifest.descriptor.digest}`,
      "ghcr.io/org/famiglia-kit:1.1.0",
      "ghcr.io/org/openclaw:1.0.0",
    ]);
  });
});

describe("KitStore.gc", () => {
  const blobsOf = (k: KitArtifact) => [k.manifest, k.config, ...k.layers].map((b) => b.descriptor.digest);

  it("keeps every blob a recorded kit reaches and removes the rest", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const stray = Buffer.from("nobody references me");
    await store.layout.push({ mediaType: "application/octet-stream", digest: digestOf(stray), size: stray.length }, stray);
    expect(await store.gc()).toEqual({ removedBlobs: 1, freedBytes: stray.length });
    expect(await exists(blobFile(store, digestOf(stray)))).toBe(false);
    for (const d of blobsOf(a)) expect(await exists(blobFile(store, d))).toBe(true);
    expect((await store.read(a.manifest.descriptor.digest)).kit.name).toBe("famiglia");
    expect(await store.gc()).toEqual({ removedBlobs: 0, freedBytes: 0 });
  });

  it("after rm of one of two kits sharing a blob, removes only the blobs the other does not use", async () => {
    const a = kit("famiglia", "1.0.0", { readme: SHARED_README });
    const b = kit("openclaw", "1.0.0", { readme: SHARED_README });
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    await store.add(b, b.kit, ["ghcr.io/org/openclaw:1.0.0"]);
    await store.remove("famiglia");
    const onlyA = [a.manifest, a.config, a.layers[0]];
    const result = await store.gc();
    expect(result).toEqual({ removedBlobs: 3, freedBytes: onlyA.reduce((n, x) => n + x.descriptor.size, 0) });
    for (const x of onlyA) expect(await exists(blobFile(store, x.descriptor.digest))).toBe(false);
    for (const d of blobsOf(b)) expect(await exists(blobFile(store, d))).toBe(true);
    expect((await store.read(b.manifest.descriptor.digest)).readme).toEqual(SHARED_README);
  });

  it("keeps a kit still recorded under another reference", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0", "ghcr.io/org/famiglia-kit:latest"]);
    await store.remove("ghcr.io/org/famiglia-kit:latest");
    expect(await store.gc()).toEqual({ removedBlobs: 0, freedBytes: 0 });
  });

  it("keeps manifests reachable only through a recorded image index, and their blobs", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [a.manifest.descriptor] }));
    const indexDesc = { mediaType: MediaType.ImageIndex, digest: digestOf(index), size: index.length };
    await store.layout.pushReference(indexDesc, index, "ghcr.io/org/bundle:1");
    await store.remove("famiglia");
    expect((await indexJson(store)).manifests.map((m) => m.digest)).toEqual([indexDesc.digest]);
    expect(await store.gc()).toEqual({ removedBlobs: 0, freedBytes: 0 });
    for (const d of blobsOf(a)) expect(await exists(blobFile(store, d))).toBe(true);
  });

  it("removes temp files older than an hour from ingest/ and keeps fresh ones", async () => {
    const ingest = join(store.path, "ingest");
    await mkdir(ingest, { recursive: true });
    await writeFile(join(ingest, "old.123.abc"), "x".repeat(10));
    await writeFile(join(ingest, "fresh.123.abc"), "y");
    await writeFile(join(store.path, "index.json.1.abc.tmp"), "z".repeat(5));
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(ingest, "old.123.abc"), twoHoursAgo, twoHoursAgo);
    await utimes(join(store.path, "index.json.1.abc.tmp"), twoHoursAgo, twoHoursAgo);
    expect(await store.gc()).toEqual({ removedBlobs: 0, freedBytes: 15 });
    expect(await exists(join(ingest, "old.123.abc"))).toBe(false);
    expect(await exists(join(store.path, "index.json.1.abc.tmp"))).toBe(false);
    expect(await exists(join(ingest, "fresh.123.abc"))).toBe(true);
    expect(await exists(join(store.path, "index.json"))).toBe(true);
  });

  it("refuses to delete anything when a recorded manifest is damaged", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    const stray = Buffer.from("stray");
    await store.layout.push({ mediaType: "application/octet-stream", digest: digestOf(stray), size: stray.length }, stray);
    const file = blobFile(store, a.manifest.descriptor.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = 0x20;
    await writeFile(file, bytes);
    await expect(store.gc()).rejects.toThrow(DigestMismatchError);
    expect(await exists(blobFile(store, digestOf(stray)))).toBe(true);
  });

  it("excludes add() and gc() from each other through the store lock", async () => {
    const stray = Buffer.from("stray");
    await store.layout.push({ mediaType: "application/octet-stream", digest: digestOf(stray), size: stray.length }, stray);
    const impatient = await KitStore.open(store.path, { lockTimeoutMs: 0 });
    const lock = await FileLock.acquire(join(store.path, "kit-store.lock"));
    const a = kit("famiglia");
    try {
      await expect(impatient.gc()).rejects.toThrow(/timed out after 0 ms waiting for the lock/);
      await expect(impatient.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"])).rejects.toThrow(/waiting for the lock/);
    } finally {
      await lock.release();
    }
    expect(await exists(blobFile(store, digestOf(stray)))).toBe(true);
    expect(await exists(blobFile(store, a.config.descriptor.digest))).toBe(false);
    expect(await impatient.gc()).toEqual({ removedBlobs: 1, freedBytes: stray.length });
  });
});

describe("KitStore.verify", () => {
  it("reports an intact store and holds the store lock while it reads", async () => {
    const a = kit("famiglia");
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0"]);
    expect(await store.verify()).toEqual({
      blobs: 4,
      bytes: [a.manifest, a.config, ...a.layers].reduce((n, b) => n + b.descriptor.size, 0),
      manifests: 1,
      problems: [],
    });
    const impatient = await KitStore.open(store.path, { lockTimeoutMs: 0 });
    const lock = await FileLock.acquire(join(store.path, "kit-store.lock"));
    try {
      await expect(impatient.verify()).rejects.toThrow(/timed out after 0 ms waiting for the lock/);
    } finally {
      await lock.release();
    }
    expect((await impatient.verify()).problems).toEqual([]);
  });
});

describe("skopeo reads the store", () => {
  it("inspects a kit by its full reference, tag or digest form", async () => {
    const a = kit("famiglia");
    const d = a.manifest.descriptor.digest;
    await store.add(a, a.kit, ["ghcr.io/org/famiglia-kit:1.0.0", `localhost:5000/org/famiglia-kit@${d}`]);
    for (const ref of ["ghcr.io/org/famiglia-kit:1.0.0", `localhost:5000/org/famiglia-kit@${d}`]) {
      const raw = await run("/usr/bin/skopeo", ["inspect", "--raw", `oci:${store.path}:${ref}`], { encoding: "buffer" });
      expect(Buffer.from(raw.stdout).equals(a.manifest.bytes), ref).toBe(true);
    }
  });
});
