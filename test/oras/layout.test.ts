import { mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import {
  DigestMismatchError,
  InvalidContentError,
  InvalidReferenceError,
  NotFoundError,
  SizeLimitError,
  SizeMismatchError,
  UnsupportedError,
} from "../../src/oras/errors.js";
import { OciLayout } from "../../src/oras/layout/store.js";
import { collect, descriptorOf, readAll } from "../support/content.js";
import { fetchAll } from "../../src/oras/verify.js";

const REF_NAME = "org.opencontainers.image.ref.name";

function blob(bytes: Buffer | string, mediaType = "application/octet-stream"): { desc: Descriptor; bytes: Buffer } {
  return { desc: descriptorOf(bytes, mediaType), bytes: Buffer.from(bytes) };
}

function jsonBlob(value: unknown, mediaType: string): { desc: Descriptor; bytes: Buffer } {
  return blob(JSON.stringify(value), mediaType);
}

/** An image manifest (config + one layer), optionally with a subject; returns every piece. */
function image(seed: string, subject?: Descriptor) {
  const config = jsonBlob({ seed }, MediaType.ImageConfig);
  const layer = blob(`layer ${seed}`, MediaType.ImageLayer);
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    config: config.desc,
    layers: [layer.desc],
  };
  if (subject) {
    doc.subject = subject;
    doc.artifactType = "application/vnd.example.sig";
    doc.annotations = { note: seed };
  }
  const manifest = jsonBlob(doc, MediaType.ImageManifest);
  return { config, layer, manifest };
}

async function pushImage(layout: OciLayout, img: ReturnType<typeof image>): Promise<void> {
  await layout.push(img.config.desc, img.config.bytes);
  await layout.push(img.layer.desc, Readable.from([img.layer.bytes]));
  await layout.push(img.manifest.desc, img.manifest.bytes);
}

async function indexJson(dir: string): Promise<{ schemaVersion: number; manifests: Descriptor[] }> {
  return JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
}

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), "layout-test-")), "layout");
});
afterEach(async () => {
  await rm(join(dir, ".."), { recursive: true, force: true });
});

describe("OciLayout.open", () => {
  it("creates oci-layout, index.json and blobs/ when asked", async () => {
    const layout = await OciLayout.open(dir, { create: true });
    expect(layout.name).toBe(`oci:${dir}`);
    expect(JSON.parse(await readFile(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    expect(await indexJson(dir)).toEqual({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] });
    expect(await readdir(dir)).toContain("blobs");
  });

  it("refuses a missing directory without create", async () => {
    await expect(OciLayout.open(dir)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("refuses a directory that is not a layout, naming the missing file", async () => {
    await OciLayout.open(dir, { create: true });
    await rm(join(dir, "oci-layout"));
    await expect(OciLayout.open(dir)).rejects.toThrow(/no oci-layout file/);
  });

  it("refuses an unsupported layout version", async () => {
    await OciLayout.open(dir, { create: true });
    await writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"2.0.0"}');
    await expect(OciLayout.open(dir)).rejects.toBeInstanceOf(UnsupportedError);
  });

  it("keeps an existing index when opened with create again", async () => {
    const a = await OciLayout.open(dir, { create: true });
    const img = image("keep");
    await pushImage(a, img);
    await a.tag(img.manifest.desc, "v1");
    const b = await OciLayout.open(dir, { create: true });
    expect((await b.resolve("v1")).digest).toBe(img.manifest.desc.digest);
  });

  it("refuses a layout whose blobs/sha256, blobs or ingest is a symbolic link, so nothing outside it is written or collected", async () => {
    // Another layout whose blobs the link would expose: gc must never see them as garbage.
    const other = join(dir, "..", "other");
    const victim = await OciLayout.open(other, { create: true });
    const stray = blob("another layout's unreferenced blob");
    await victim.push(stray.desc, stray.bytes);
    for (const linked of ["blobs/sha256", "blobs", "ingest"]) {
      await rm(dir, { recursive: true, force: true });
      await OciLayout.open(dir, { create: true });
      await rm(join(dir, linked), { recursive: true, force: true });
      await symlink(join(other, linked === "ingest" ? "blobs" : linked), join(dir, linked));
      for (const create of [false, true]) {
        const err = await OciLayout.open(dir, { create }).catch((e: unknown) => e);
        expect(err, linked).toBeInstanceOf(InvalidContentError);
        expect((err as Error).message).toBe(`oci:${dir} is refused: ${linked} is a symbolic link, so its blobs would be written and deleted outside the layout`);
      }
    }
    expect(await readFile(join(other, "blobs", ...stray.desc.digest.split(":")))).toEqual(stray.bytes);
  });

  it("refuses a layout whose blobs/sha256 is a file", async () => {
    await OciLayout.open(dir, { create: true });
    await writeFile(join(dir, "blobs", "sha256"), "not a directory");
    await expect(OciLayout.open(dir)).rejects.toThrow(`oci:${dir} is not a valid OCI image layout: blobs/sha256 is not a directory`);
  });
});

describe("index.json validation", () => {
  beforeEach(async () => {
    await OciLayout.open(dir, { create: true });
  });

  it("names the file when index.json is not JSON", async () => {
    await writeFile(join(dir, "index.json"), "{not json");
    const err = await OciLayout.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidContentError);
    expect((err as Error).message).toContain(join(dir, "index.json"));
  });

  it("rejects a bad shape and says where", async () => {
    await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "x", digest: "sha256:zz", size: 1 }] }));
    await expect(OciLayout.open(dir)).rejects.toThrow(/manifests\[0\]/);
    await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 1, manifests: [] }));
    await expect(OciLayout.open(dir)).rejects.toThrow(/schemaVersion/);
    await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: {} }));
    await expect(OciLayout.open(dir)).rejects.toBeInstanceOf(InvalidContentError);
  });

  it("refuses an index.json over 64 MiB without reading it", async () => {
    await truncate(join(dir, "index.json"), 64 * 1024 * 1024 + 1);
    await expect(OciLayout.open(dir)).rejects.toBeInstanceOf(SizeLimitError);
  });

  it("keeps unknown top-level fields and entry fields on rewrite", async () => {
    const img = image("extra");
    const layout0 = await OciLayout.open(dir);
    await pushImage(layout0, img);
    await writeFile(
      join(dir, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        annotations: { "com.example": "kept" },
        manifests: [{ ...img.manifest.desc, platform: { os: "linux", architecture: "arm64" }, annotations: { [REF_NAME]: "old" } }],
      }),
    );
    const layout = await OciLayout.open(dir);
    await layout.tag(img.manifest.desc, "new");
    const index = (await indexJson(dir)) as unknown as { annotations: Record<string, string>; manifests: Descriptor[] };
    expect(index.annotations).toEqual({ "com.example": "kept" });
    expect(index.manifests[0]).toMatchObject({ platform: { os: "linux", architecture: "arm64" }, annotations: { [REF_NAME]: "old" } });
    expect(index.manifests[1]!.annotations).toEqual({ [REF_NAME]: "new" });
  });
});

describe("blobs", () => {
  let layout: OciLayout;
  beforeEach(async () => {
    layout = await OciLayout.open(dir, { create: true });
  });

  it("stores a streamed blob under its digest and fetches it verified", async () => {
    const b = blob(Buffer.alloc(3 * 1024 * 1024, 5));
    expect(await layout.exists(b.desc)).toBe(false);
    const chunks = [b.bytes.subarray(0, 1000), b.bytes.subarray(1000)];
    await layout.push(b.desc, Readable.from(chunks));
    expect(await layout.exists(b.desc)).toBe(true);
    const onDisk = await readFile(join(dir, "blobs", "sha256", b.desc.digest.slice(7)));
    expect(onDisk.equals(b.bytes)).toBe(true);
    expect((await readAll(await layout.fetch(b.desc))).equals(b.bytes)).toBe(true);
  });

  it("stores nothing, and leaves no temp file, when the digest does not match", async () => {
    const good = blob("the real content");
    const bad = Buffer.from("the fake content");
    await expect(layout.push(good.desc, Readable.from([bad]))).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(layout.push(good.desc, bad)).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await layout.exists(good.desc)).toBe(false);
    expect(await readdir(join(dir, "ingest"))).toEqual([]);
  });

  it("stores nothing when the stream is too long or fails midway", async () => {
    const good = blob("0123456789");
    await expect(layout.push(good.desc, Readable.from([Buffer.from("0123456789abc")]))).rejects.toBeInstanceOf(SizeMismatchError);
    let reads = 0;
    const failsMidway = new Readable({
      read() {
        if (reads++ === 0) this.push(Buffer.from("01234"));
        else this.destroy(new Error("connection reset"));
      },
    });
    await expect(layout.push(good.desc, failsMidway)).rejects.toThrow(/connection reset/);
    // A source that fails before push() gets to pipe it must not crash the process either.
    const failsEarly = new PassThrough();
    failsEarly.destroy(new Error("early reset"));
    await expect(layout.push(good.desc, failsEarly)).rejects.toThrow(/early reset/);
    expect(await layout.exists(good.desc)).toBe(false);
    expect(await readdir(join(dir, "ingest"))).toEqual([]);
  });

  it("stops a push when its signal aborts, leaving nothing behind", async () => {
    const b = blob("never finished");
    const controller = new AbortController();
    const endless = new Readable({
      read() {
        this.push(Buffer.from("x"));
        controller.abort();
      },
    });
    await expect(layout.push(b.desc, endless, { signal: controller.signal })).rejects.toThrow();
    expect(await layout.exists(b.desc)).toBe(false);
    expect(await readdir(join(dir, "ingest"))).toEqual([]);
  });

  it("treats pushing present content as a no-op and destroys the input stream", async () => {
    const b = blob("present");
    await layout.push(b.desc, b.bytes);
    // This stream would fail the digest check if it were read.
    const input = Readable.from([Buffer.from("garbage")]);
    await layout.push(b.desc, input);
    expect(input.destroyed).toBe(true);
  });

  it("fails a fetch of a file damaged on disk with DigestMismatchError", async () => {
    const b = blob("pristine content");
    await layout.push(b.desc, b.bytes);
    await writeFile(join(dir, "blobs", "sha256", b.desc.digest.slice(7)), "damaged content!");
    await expect(readAll(await layout.fetch(b.desc))).rejects.toBeInstanceOf(DigestMismatchError);
    // Unverified reads hand back the bytes as they are.
    expect((await readAll(await layout.fetch(b.desc, { verify: false }))).toString()).toBe("damaged content!");
  });

  it("reports a truncated file as absent and fails its fetch with SizeMismatchError", async () => {
    const b = blob("some longer content");
    await layout.push(b.desc, b.bytes);
    await writeFile(join(dir, "blobs", "sha256", b.desc.digest.slice(7)), "some");
    expect(await layout.exists(b.desc)).toBe(false);
    await expect(layout.fetch(b.desc)).rejects.toBeInstanceOf(SizeMismatchError);
    // and a push repairs it
    await layout.push(b.desc, b.bytes);
    expect((await readAll(await layout.fetch(b.desc))).equals(b.bytes)).toBe(true);
  });

  it("reads small content whole for fetchAll, with the same checks as a stream", async () => {
    const b = blob("whole content");
    await layout.push(b.desc, b.bytes);
    expect((await fetchAll(layout, b.desc)).equals(b.bytes)).toBe(true);
    const file = join(dir, "blobs", "sha256", b.desc.digest.slice(7));
    await writeFile(file, "whole CONTENT");
    await expect(fetchAll(layout, b.desc)).rejects.toBeInstanceOf(DigestMismatchError);
    await writeFile(file, "whole content, longer");
    await expect(fetchAll(layout, b.desc)).rejects.toMatchObject({ name: SizeMismatchError.name, hint: expect.stringContaining(file) });
    await rm(file);
    await expect(fetchAll(layout, b.desc)).rejects.toBeInstanceOf(NotFoundError);
    const aborted = new AbortController();
    aborted.abort();
    await expect(fetchAll(layout, b.desc, { signal: aborted.signal })).rejects.toMatchObject({ name: "AbortError" });
  });

  it("fails a fetch of a missing blob with NotFoundError", async () => {
    await expect(layout.fetch(blob("nope").desc)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("lists stored blobs as digests, ignoring stray files", async () => {
    const a = blob("a");
    const b = blob("b");
    await layout.push(a.desc, a.bytes);
    await layout.push(b.desc, b.bytes);
    await writeFile(join(dir, "blobs", "sha256", "not-a-digest"), "x");
    expect((await collect(layout.blobs())).sort()).toEqual([a.desc.digest, b.desc.digest].sort());
  });
});

describe("tags and index entries", () => {
  let layout: OciLayout;
  beforeEach(async () => {
    layout = await OciLayout.open(dir, { create: true });
  });

  it("records a pushed manifest untagged and resolves it by digest", async () => {
    const img = image("one");
    await pushImage(layout, img);
    const index = await indexJson(dir);
    expect(index.manifests).toEqual([img.manifest.desc]);
    expect(await layout.resolve(img.manifest.desc.digest)).toEqual(img.manifest.desc);
  });

  it("tags a manifest: one entry per ref name, the untagged entry replaced", async () => {
    const img = image("one");
    await pushImage(layout, img);
    await layout.tag(img.manifest.desc, "v1");
    await layout.tag(img.manifest.desc, "latest");
    const index = await indexJson(dir);
    expect(index.manifests.map((m) => m.annotations?.[REF_NAME])).toEqual(["v1", "latest"]);
    expect(await layout.resolve("v1")).toEqual(img.manifest.desc);
  });

  it("moves a tag instead of adding a second entry", async () => {
    const a = image("a");
    const b = image("b");
    await pushImage(layout, a);
    await pushImage(layout, b);
    await layout.tag(a.manifest.desc, "v1");
    await layout.tag(b.manifest.desc, "v1");
    expect((await layout.resolve("v1")).digest).toBe(b.manifest.desc.digest);
    const entries = (await indexJson(dir)).manifests.filter((m) => m.annotations?.[REF_NAME] === "v1");
    expect(entries).toHaveLength(1);
    // a's untagged entry went when it was tagged and does not come back when the tag moves
    expect((await indexJson(dir)).manifests.map((m) => m.digest)).not.toContain(a.manifest.desc.digest);
  });

  it("resolves a stored manifest that no entry names, reading its media type", async () => {
    const img = image("hidden");
    await pushImage(layout, img);
    await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    const fresh = await OciLayout.open(dir);
    expect(await fresh.resolve(img.manifest.desc.digest)).toEqual(img.manifest.desc);
    await expect(fresh.resolve(img.layer.desc.digest)).rejects.toThrow(/not a manifest/);
    await expect(fresh.resolve(blob("absent").desc.digest)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("says a stored blob that is not a manifest is not one, also when its bytes are not UTF-8", async () => {
    // ff fe 00: once read as text and turned back into bytes, it no longer matched its digest.
    const binary = blob(Buffer.from([0xff, 0xfe, 0x00]));
    const json = jsonBlob({ hello: "world" }, "application/json");
    await layout.push(binary.desc, binary.bytes);
    await layout.push(json.desc, json.bytes);
    for (const { desc } of [binary, json]) {
      const err = await layout.resolve(desc.digest).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidContentError);
      expect((err as Error).message).toBe(`${desc.digest} in oci:${dir} is not a manifest`);
    }
    expect(await readAll(await layout.fetch(binary.desc))).toEqual(binary.bytes);
  });

  it("fails to resolve an unknown tag and to tag content it does not hold", async () => {
    await expect(layout.resolve("missing")).rejects.toBeInstanceOf(NotFoundError);
    await expect(layout.tag(image("x").manifest.desc, "v1")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("rejects invalid tags and tags that look like digests", async () => {
    const img = image("t");
    await pushImage(layout, img);
    await expect(layout.tag(img.manifest.desc, "")).rejects.toBeInstanceOf(InvalidReferenceError);
    await expect(layout.tag(img.manifest.desc, "bad tag")).rejects.toBeInstanceOf(InvalidReferenceError);
    await expect(layout.tag(img.manifest.desc, digestOf("x"))).rejects.toBeInstanceOf(InvalidReferenceError);
    await layout.tag(img.manifest.desc, "example.com/repo:1.0");
    expect((await layout.resolve("example.com/repo:1.0")).digest).toBe(img.manifest.desc.digest);
  });

  it("drops the untagged entries of an index's children when the index is pushed", async () => {
    const a = image("amd64");
    const b = image("arm64");
    await pushImage(layout, a);
    await pushImage(layout, b);
    const idx = jsonBlob({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [a.manifest.desc, b.manifest.desc] }, MediaType.ImageIndex);
    await layout.push(idx.desc, idx.bytes);
    expect((await indexJson(dir)).manifests.map((m) => m.digest)).toEqual([idx.desc.digest]);
  });

  it("pushReference stores and tags in one step", async () => {
    const img = image("ref");
    await layout.push(img.config.desc, img.config.bytes);
    await layout.push(img.layer.desc, img.layer.bytes);
    await layout.pushReference(img.manifest.desc, img.manifest.bytes, "v9");
    expect((await indexJson(dir)).manifests).toEqual([{ ...img.manifest.desc, annotations: { [REF_NAME]: "v9" } }]);
  });

  it("lists tags sorted, after `last`, and references in index order", async () => {
    const img = image("list");
    await pushImage(layout, img);
    for (const t of ["b", "c", "a"]) await layout.tag(img.manifest.desc, t);
    expect(await collect(layout.tags())).toEqual(["a", "b", "c"]);
    expect(await collect(layout.tags({ last: "a" }))).toEqual(["b", "c"]);
    expect((await layout.listReferences()).map((r) => r.name)).toEqual(["b", "c", "a"]);
    expect((await layout.listReferences())[0]!.descriptor).toEqual(img.manifest.desc);
  });

  it("untags without deleting the manifest", async () => {
    const img = image("untag");
    await pushImage(layout, img);
    await layout.tag(img.manifest.desc, "v1");
    await layout.untag("v1");
    await expect(layout.resolve("v1")).rejects.toBeInstanceOf(NotFoundError);
    expect(await layout.exists(img.manifest.desc)).toBe(true);
    await expect(layout.untag("v1")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("deletes a manifest: its entries first, then its blob", async () => {
    const img = image("del");
    await pushImage(layout, img);
    await layout.tag(img.manifest.desc, "v1");
    await layout.tag(img.manifest.desc, "v2");
    await layout.delete(img.manifest.desc);
    expect((await indexJson(dir)).manifests).toEqual([]);
    expect(await layout.exists(img.manifest.desc)).toBe(false);
    await expect(layout.resolve("v1")).rejects.toBeInstanceOf(NotFoundError);
    await expect(layout.delete(img.manifest.desc)).rejects.toBeInstanceOf(NotFoundError);
    // a plain blob
    await layout.delete(img.layer.desc);
    expect(await layout.exists(img.layer.desc)).toBe(false);
  });

  it("lists every index entry once as a root", async () => {
    const a = image("ra");
    const b = image("rb");
    await pushImage(layout, a);
    await pushImage(layout, b);
    await layout.tag(a.manifest.desc, "x");
    await layout.tag(a.manifest.desc, "y");
    expect((await layout.roots()).map((d) => d.digest).sort()).toEqual([a.manifest.desc.digest, b.manifest.desc.digest].sort());
  });

  it("finds referrers through their subject, also after reopening", async () => {
    const subject = image("subject");
    await pushImage(layout, subject);
    await layout.tag(subject.manifest.desc, "v1");
    expect(await layout.predecessors(subject.manifest.desc)).toEqual([]);
    const sig = image("sig", subject.manifest.desc);
    await pushImage(layout, sig);
    const expected = { ...sig.manifest.desc, artifactType: "application/vnd.example.sig", annotations: { note: "sig" } };
    expect(await layout.predecessors(subject.manifest.desc)).toEqual([expected]);
    const reopened = await OciLayout.open(dir);
    expect(await reopened.predecessors(subject.manifest.desc)).toEqual([expected]);
    expect(await reopened.predecessors(subject.manifest.desc, { artifactType: "other" })).toEqual([]);
  });

  it("sees tags written by another instance (as another process would)", async () => {
    const img = image("shared");
    await pushImage(layout, img);
    const other = await OciLayout.open(dir);
    await other.tag(img.manifest.desc, "from-other");
    expect((await layout.resolve("from-other")).digest).toBe(img.manifest.desc.digest);
    // and a write from the first instance keeps the other's tag
    await layout.tag(img.manifest.desc, "from-first");
    expect((await indexJson(dir)).manifests.map((m) => m.annotations?.[REF_NAME]).sort()).toEqual(["from-first", "from-other"]);
  });
});

describe("index writes", () => {
  it("a resolved tag() is already in index.json", async () => {
    const layout = await OciLayout.open(dir, { create: true });
    const img = image("durable");
    await pushImage(layout, img);
    await layout.tag(img.manifest.desc, "now");
    expect(JSON.stringify(await indexJson(dir))).toContain('"now"');
  });

  it("concurrent tag() calls share writes and all land", async () => {
    const layout = await OciLayout.open(dir, { create: true });
    const img = image("many");
    await pushImage(layout, img);
    await Promise.all(Array.from({ length: 500 }, (_, i) => layout.tag(img.manifest.desc, `t${i}`)));
    const names = new Set((await indexJson(dir)).manifests.map((m) => m.annotations?.[REF_NAME]));
    expect(names.size).toBe(500);
  });

  it("batch() defers writes to its end and then writes everything", async () => {
    const layout = await OciLayout.open(dir, { create: true });
    const img = image("batch");
    await pushImage(layout, img);
    const before = await readFile(join(dir, "index.json"), "utf8");
    let insideFile = "";
    await layout.batch(async () => {
      for (let i = 0; i < 200; i++) await layout.tag(img.manifest.desc, `b${i}`);
      insideFile = await readFile(join(dir, "index.json"), "utf8");
      expect((await layout.resolve("b199")).digest).toBe(img.manifest.desc.digest);
    });
    expect(insideFile).toBe(before);
    expect((await indexJson(dir)).manifests).toHaveLength(200);
  });

  it("batch() writes what was done even when its function throws", async () => {
    const layout = await OciLayout.open(dir, { create: true });
    const img = image("throw");
    await pushImage(layout, img);
    await expect(
      layout.batch(async () => {
        await layout.tag(img.manifest.desc, "done");
        throw new Error("later step failed");
      }),
    ).rejects.toThrow("later step failed");
    expect((await indexJson(dir)).manifests.map((m) => m.annotations?.[REF_NAME])).toEqual(["done"]);
  });

  it("leaves no lock or temp files behind", async () => {
    const layout = await OciLayout.open(dir, { create: true });
    const img = image("clean");
    await pushImage(layout, img);
    await Promise.all([layout.tag(img.manifest.desc, "a"), layout.tag(img.manifest.desc, "b")]);
    expect((await readdir(dir)).sort()).toEqual(["blobs", "index.json", "ingest", "oci-layout"]);
  });
});
