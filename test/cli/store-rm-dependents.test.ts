/**
 * kit rm removes what only the removed kit needed: after kit load puts a signed kit, its base image and their
 * attachments into the local store, removing the kit removes its signatures (cosign's .sig tag and the Sigstore
 * bundle referrer, and what is attached to those), the base image when no kit left pins it, and the image's own
 * attachments (an SBOM of a platform, the kits attached to it); then kit gc frees the blobs. A second kit pinning the
 * same image keeps it. Real docker-registry 2.8 as the source, the real store.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { buildImageIndex, type BuiltImageIndex } from "../support/images.js";
import { runKit } from "../support/cli.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { descriptorOf } from "../support/content.js";

let src: RunningRegistry;
let work: string;
let image: BuiltImageIndex;
const kits: Record<string, string> = {};
let sbom: Descriptor;
let sigOfSig: Descriptor;
const EMPTY = Buffer.from("{}");
const EMPTY_DESC = descriptorOf(EMPTY, MediaType.EmptyJSON);
const PASSPHRASE = "store rm dependents";
const sigTag = (digest: string) => `sha256-${digest.slice("sha256:".length)}.sig`;

async function manifest(repo: RemoteRepository, body: Record<string, unknown>): Promise<Descriptor> {
  await repo.push(EMPTY_DESC, EMPTY);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EMPTY_DESC, layers: [EMPTY_DESC], ...body }));
  const desc = descriptorOf(bytes, MediaType.ImageManifest);
  await repo.pushManifest(desc, bytes);
  return desc;
}

async function pushKit(name: string): Promise<void> {
  const dir = path.join(work, name);
  await mkdir(dir);
  await writeFile(path.join(dir, "kit.yaml"), `name: ${name}\nversion: "1.0.0"\nimage: ${src.host}/kit/base:1\n`);
  await writeFile(path.join(dir, "README.md"), `# ${name}\n`);
  const pushed = await runKit(["push", `${src.host}/org/${name}:1.0.0`, dir, "--attach", "--json"], { env: { KIT_STORE: path.join(work, "push-store") } });
  expect(pushed.code, pushed.stderr).toBe(0);
  kits[name] = (JSON.parse(pushed.stdout) as { digest: string }).digest;
}

beforeAll(async () => {
  src = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), "kit-rm-deps-"));
  image = await buildImageIndex({ url: src.url, repo: "kit/base" }, { tag: "1", seed: "store-rm-dependents" });
  await pushKit("alpha");
  await pushKit("beta");
  const env = { KIT_KEY_PASSWORD: PASSPHRASE, KIT_STORE: path.join(work, "push-store") };
  expect((await runKit(["key", "generate", "-o", path.join(work, "k")], { env })).code).toBe(0);
  const signed = await runKit(["sign", `${src.host}/org/alpha:1.0.0`, "--key", path.join(work, "k.key")], { env });
  expect(signed.code, signed.stderr).toBe(0);
  sbom = await manifest(new RemoteRepository({ registry: src.host, repository: "kit/base" }), { artifactType: "application/spdx+json", subject: image.images[0]!.manifest });
  // Attached to the signature: goes with it, a level further down.
  const alphaRepo = new RemoteRepository({ registry: src.host, repository: "org/alpha" });
  const sig = await alphaRepo.resolve(sigTag(kits.alpha!));
  sigOfSig = await manifest(alphaRepo, { artifactType: "application/vnd.example.countersign", subject: sig });
});

afterAll(async () => {
  await src?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

interface IndexEntry {
  digest: string;
  annotations?: Record<string, string>;
}

async function entries(store: string): Promise<IndexEntry[]> {
  return (JSON.parse(await readFile(path.join(store, "index.json"), "utf8")) as { manifests: IndexEntry[] }).manifests;
}

const names = (list: IndexEntry[]) => list.map((e) => e.annotations?.["org.opencontainers.image.ref.name"] ?? `(untagged) ${e.digest}`).sort();

async function blobCount(store: string): Promise<number> {
  return (await readdir(path.join(store, "blobs", "sha256"))).length;
}

async function loadInto(store: string, refs: string[]): Promise<void> {
  const bundle = path.join(work, `${path.basename(store)}.tar`);
  const saved = await runKit(["save", ...refs, "-o", bundle], { env: { KIT_STORE: path.join(work, "push-store") } });
  expect(saved.code, saved.stderr).toBe(0);
  const loaded = await runKit(["load", bundle], { env: { KIT_STORE: store } });
  expect(loaded.code, loaded.stderr).toBe(0);
}

interface RmJson {
  removed: { reference: string; digest: string; name: string }[];
  alsoRemoved: { kind: string; reference: string | null; digest: string; subject?: string }[];
}

describe("kit rm removes what only the kit needed", () => {
  it("a signed kit alone: its signatures, its image and the image's attachments go, and gc frees every blob", async () => {
    const store = path.join(work, "alone");
    await loadInto(store, [`${src.host}/org/alpha:1.0.0`]);
    const before = await entries(store);
    // The kit and the image; attachments: the SBOM, both kits attached to the image, the .sig tag, the bundle referrer, the countersignature.
    expect(before.length).toBe(8);
    expect(before.filter((e) => e.annotations?.["dev.aegis.kit.kind"] === "attachment").length).toBe(6);
    const r = await runKit(["rm", "alpha", "--json"], { env: { KIT_STORE: store } });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RmJson;
    expect(doc.removed.map((e) => e.reference)).toEqual([`${src.host}/org/alpha:1.0.0`]);
    const also = doc.alsoRemoved;
    expect(also.filter((d) => d.kind === "image").map((d) => d.reference)).toEqual([`${src.host}/kit/base:1`]);
    const attached = Object.fromEntries(also.filter((d) => d.kind === "attachment").map((d) => [d.digest, d.subject]));
    expect(attached[sbom.digest]).toBe(image.images[0]!.manifest.digest);
    expect(attached[sigOfSig.digest]).toBeDefined();
    expect(attached[kits.alpha!]).toBe(image.index.digest);
    expect(attached[kits.beta!]).toBe(image.index.digest);
    expect(Object.keys(attached).length).toBe(6);
    // Subjects before what is attached to them: the signature before its countersignature.
    const order = also.map((d) => d.digest);
    expect(order.indexOf(attached[sigOfSig.digest]!)).toBeLessThan(order.indexOf(sigOfSig.digest));
    expect(await entries(store)).toEqual([]);
    const blobs = await blobCount(store);
    expect(blobs).toBeGreaterThan(10);
    const gc = await runKit(["gc", "--json"], { env: { KIT_STORE: store } });
    expect(gc.code, gc.stderr).toBe(0);
    expect((JSON.parse(gc.stdout) as { removedBlobs: number }).removedBlobs).toBe(blobs);
    expect(await blobCount(store)).toBe(0);
  });

  it("a second kit pinning the same image keeps it and its attachments, until it goes too", async () => {
    const store = path.join(work, "shared");
    await loadInto(store, [`${src.host}/org/alpha:1.0.0`, `${src.host}/org/beta:1.0.0`]);
    const first = await runKit(["rm", `${src.host}/org/alpha:1.0.0`], { env: { KIT_STORE: store } });
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`${src.host}/org/alpha:1.0.0`);
    // Only alpha's signatures: the .sig tag, the bundle referrer, the countersignature.
    expect(lines.slice(1).length).toBe(3);
    expect(lines.slice(1).every((l) => /^also removed attachment \S+ of sha256:[0-9a-f]{64}$/.test(l))).toBe(true);
    expect(lines).toContain(`also removed attachment ${src.host}/org/alpha:${sigTag(kits.alpha!)} of ${kits.alpha}`);
    const left = names(await entries(store));
    expect(left).toContain(`${src.host}/kit/base:1`);
    expect(left).toContain(`${src.host}/kit/base@${sbom.digest}`);
    // Alpha stays attached to the image beta still needs: it is the image's attachment now, not a kit.
    expect(left).toContain(`${src.host}/kit/base@${kits.alpha}`);
    expect(left).toContain(`${src.host}/org/beta:1.0.0`);
    expect(left.some((n) => n.startsWith(`${src.host}/org/alpha`))).toBe(false);
    expect(JSON.parse((await runKit(["ls", "--json"], { env: { KIT_STORE: store } })).stdout).kits.map((k: { name: string }) => k.name)).toEqual(["beta"]);
    // gc frees the signatures' blobs only; the image still pulls offline through beta.
    const gc = await runKit(["gc", "--json"], { env: { KIT_STORE: store } });
    expect((JSON.parse(gc.stdout) as { removedBlobs: number }).removedBlobs).toBeGreaterThan(0);
    const verify = await runKit(["store", "verify", "--json"], { env: { KIT_STORE: store } });
    expect(verify.code, verify.stdout).toBe(0);

    const second = await runKit(["rm", "beta", "--json"], { env: { KIT_STORE: store } });
    expect(second.code, second.stderr).toBe(0);
    const also = (JSON.parse(second.stdout) as RmJson).alsoRemoved;
    expect(also.filter((d) => d.kind === "image").length).toBe(1);
    expect(also.map((d) => d.digest).sort()).toEqual([image.index.digest, sbom.digest, kits.alpha!, kits.beta!].sort());
    expect(await entries(store)).toEqual([]);
    expect((await runKit(["gc"], { env: { KIT_STORE: store } })).code).toBe(0);
    expect(await blobCount(store)).toBe(0);
  });

  it("a kit still recorded under another reference takes nothing with it", async () => {
    const store = path.join(work, "twice");
    await loadInto(store, [`${src.host}/org/beta:1.0.0`]);
    const pulled = await runKit(["pull", `${src.host}/org/beta@${kits.beta}`], { env: { KIT_STORE: store } });
    expect(pulled.code, pulled.stderr).toBe(0);
    const before = names(await entries(store));
    const r = await runKit(["rm", `${src.host}/org/beta:1.0.0`, "--json"], { env: { KIT_STORE: store } });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RmJson).alsoRemoved).toEqual([]);
    expect(names(await entries(store))).toEqual(before.filter((n) => n !== `${src.host}/org/beta:1.0.0`));
  });

  it("a kit signed in the store takes its signatures: the .sig entry and the untagged bundle referrer", async () => {
    const store = path.join(work, "signed-here");
    const env = { KIT_STORE: store, KIT_KEY_PASSWORD: PASSPHRASE };
    expect((await runKit(["pull", `${src.host}/org/beta:1.0.0`], { env })).code).toBe(0);
    const signed = await runKit(["sign", `beta@${kits.beta}`, "--key", path.join(work, "k.key")], { env });
    expect(signed.code, signed.stderr).toBe(0);
    const before = await entries(store);
    expect(before.filter((e) => e.annotations?.["org.opencontainers.image.ref.name"] === undefined).length).toBe(1);
    const r = await runKit(["rm", "beta", "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    const also = (JSON.parse(r.stdout) as RmJson).alsoRemoved;
    expect(also.map((d) => [d.kind, d.reference === null, d.subject]).sort()).toEqual([
      ["attachment", false, kits.beta],
      ["attachment", true, kits.beta],
    ]);
    expect(await entries(store)).toEqual([]);
  });
});
