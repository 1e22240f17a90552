import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { DigestMismatchError, InvalidReferenceError, NotFoundError, SizeMismatchError } from "../../src/oras/errors.js";
import { MemoryStore } from "../../src/oras/memory.js";
import { fetchAll } from "../../src/oras/verify.js";
import { collect, descriptorOf } from "../support/content.js";

function blob(text: string, mediaType = "application/octet-stream"): { desc: Descriptor; bytes: Buffer } {
  return { desc: descriptorOf(text, mediaType), bytes: Buffer.from(text) };
}

describe("MemoryStore", () => {
  it("stores verified content from bytes or streams and serves it back", async () => {
    const store = new MemoryStore();
    const a = blob("alpha");
    const b = blob("bravo");
    await store.push(a.desc, a.bytes);
    await store.push(b.desc, Readable.from([Buffer.from("bra"), Buffer.from("vo")]));
    expect(await store.exists(a.desc)).toBe(true);
    expect((await fetchAll(store, b.desc)).toString()).toBe("bravo");
    expect(store.digests().sort()).toEqual([a.desc.digest, b.desc.digest].sort());
  });

  it("stores nothing on a digest or size mismatch", async () => {
    const store = new MemoryStore();
    const a = blob("alpha");
    await expect(store.push(a.desc, Buffer.from("alphA"))).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(store.push(a.desc, Readable.from([Buffer.from("alphabet")]))).rejects.toBeInstanceOf(SizeMismatchError);
    expect(await store.exists(a.desc)).toBe(false);
    await expect(store.fetch(a.desc)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("resolves tags and manifest digests, not blob digests", async () => {
    const store = new MemoryStore("mem");
    const layer = blob("layer");
    const manifest = blob(JSON.stringify({ schemaVersion: 2, layers: [layer.desc] }), MediaType.ImageManifest);
    await store.push(layer.desc, layer.bytes);
    await store.push(manifest.desc, manifest.bytes);
    await store.tag(manifest.desc, "v1");
    expect(await store.resolve("v1")).toEqual(manifest.desc);
    expect(await store.resolve(manifest.desc.digest)).toEqual(manifest.desc);
    await expect(store.resolve(layer.desc.digest)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.resolve("v2")).rejects.toThrow(/tag "v2" not found in mem/);
    await expect(store.tag(manifest.desc, "bad tag")).rejects.toBeInstanceOf(InvalidReferenceError);
    await expect(store.tag(blob("absent").desc, "v3")).rejects.toBeInstanceOf(NotFoundError);
    expect(await collect(store.tags())).toEqual(["v1"]);
  });

  it("finds referrers by subject and forgets deleted content", async () => {
    const store = new MemoryStore();
    const subject = blob(JSON.stringify({ schemaVersion: 2, layers: [] }), MediaType.ImageManifest);
    const sig = blob(
      JSON.stringify({ schemaVersion: 2, artifactType: "application/x-sig", subject: subject.desc, layers: [] }),
      MediaType.ImageManifest,
    );
    await store.push(subject.desc, subject.bytes);
    await store.push(sig.desc, sig.bytes);
    expect(await store.predecessors(subject.desc)).toEqual([{ ...sig.desc, artifactType: "application/x-sig" }]);
    expect(await store.predecessors(subject.desc, { artifactType: "other" })).toEqual([]);
    await store.tag(subject.desc, "v1");
    await store.delete(sig.desc);
    expect(await store.predecessors(subject.desc)).toEqual([]);
    await store.delete(subject.desc);
    await expect(store.resolve("v1")).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.delete(subject.desc)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("pushing present content is a no-op that destroys the input", async () => {
    const store = new MemoryStore();
    const a = blob("alpha");
    await store.push(a.desc, a.bytes);
    const input = Readable.from([Buffer.from("not even alpha")]);
    await store.push(a.desc, input);
    expect(input.destroyed).toBe(true);
  });
});
