import { describe, expect, it } from "vitest";
import { MediaType } from "../../src/oras/descriptor.js";
import { InvalidContentError } from "../../src/oras/errors.js";
import { isNonDistributable, manifestSuccessors } from "../../src/oras/copy/successors.js";
import { config, content, imageIndex, imageManifest, layer } from "./copy-fixtures.js";

function manifestOf(mediaType: string, body: unknown) {
  return content(mediaType, JSON.stringify(body));
}

describe("manifestSuccessors", () => {
  it("lists an image manifest's config then its layers, as blobs", () => {
    const cfg = config("c");
    const l1 = layer("one");
    const l2 = layer("two");
    const m = imageManifest(cfg, [l1, l2]);
    const out = manifestSuccessors(m.desc, m.bytes);
    expect(out.map((s) => [s.descriptor.digest, s.kind, s.role])).toEqual([
      [cfg.desc.digest, "blob", "config"],
      [l1.desc.digest, "blob", "layer"],
      [l2.desc.digest, "blob", "layer"],
    ]);
  });

  it("lists an index's manifests, keeping their platform", () => {
    const m = imageManifest(config("c"), [layer("x")], { architecture: "arm64", os: "linux" });
    const idx = imageIndex([m]);
    const out = manifestSuccessors(idx.desc, idx.bytes);
    expect(out).toEqual([{ descriptor: m.desc, kind: "manifest", role: "manifest" }]);
    expect(out[0]!.descriptor.platform).toEqual({ architecture: "arm64", os: "linux" });
  });

  it("reads Docker v2 manifests and manifest lists", () => {
    const cfg = content(MediaType.DockerConfig, "{}");
    const l = content("application/vnd.docker.image.rootfs.diff.tar.gzip", "layer");
    const dm = manifestOf(MediaType.DockerManifest, {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: cfg.desc,
      layers: [l.desc],
    });
    expect(manifestSuccessors(dm.desc, dm.bytes).map((s) => s.descriptor.digest)).toEqual([cfg.desc.digest, l.desc.digest]);
    const list = manifestOf(MediaType.DockerManifestList, {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifestList,
      manifests: [dm.desc],
    });
    expect(manifestSuccessors(list.desc, list.bytes)).toEqual([{ descriptor: dm.desc, kind: "manifest", role: "manifest" }]);
  });

  it("does not follow subject downward", () => {
    const subject = imageManifest(config("s"), [layer("s")]);
    const cfg = content(MediaType.EmptyJSON, "{}");
    const m = manifestOf(MediaType.ImageManifest, {
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      config: cfg.desc,
      layers: [],
      subject: subject.desc,
    });
    expect(manifestSuccessors(m.desc, m.bytes).map((s) => s.descriptor.digest)).toEqual([cfg.desc.digest]);
  });

  it("treats unknown media types as opaque (no children)", () => {
    const c = content("application/vnd.example.thing", "{not json");
    expect(manifestSuccessors(c.desc, c.bytes)).toEqual([]);
  });

  it("rejects bytes that are not JSON, naming the digest", () => {
    const g = content(MediaType.ImageManifest, "\u0000garbage{");
    expect(() => manifestSuccessors(g.desc, g.bytes)).toThrow(InvalidContentError);
    expect(() => manifestSuccessors(g.desc, g.bytes)).toThrow(g.desc.digest);
  });

  it("rejects invalid UTF-8", () => {
    const g = content(MediaType.ImageIndex, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(() => manifestSuccessors(g.desc, g.bytes)).toThrow(InvalidContentError);
  });

  const base = () => ({ schemaVersion: 2, config: config("c").desc, layers: [layer("l").desc] as unknown[] });

  it.each([
    ["a JSON array", []],
    ["schemaVersion 1", { ...base(), schemaVersion: 1 }],
    ["no config", { schemaVersion: 2, layers: [] }],
    ["layers not an array", { ...base(), layers: {} }],
    ["a bad child digest", { ...base(), layers: [{ mediaType: MediaType.ImageLayer, digest: "sha256:xyz", size: 1 }] }],
    ["a negative size", { ...base(), layers: [{ ...layer("n").desc, size: -1 }] }],
    ["a fractional size", { ...base(), layers: [{ ...layer("n").desc, size: 1.5 }] }],
    ["a size beyond 2^53", { ...base(), layers: [{ ...layer("n").desc, size: 2 ** 60 }] }],
    ["a missing mediaType", { ...base(), layers: [{ digest: layer("n").desc.digest, size: 1 }] }],
    ["urls that are not strings", { ...base(), layers: [{ ...layer("n").desc, urls: [1] }] }],
    ["a body mediaType contradicting the descriptor", { ...base(), mediaType: MediaType.ImageIndex }],
  ])("rejects an image manifest with %s", (_name, body) => {
    const m = manifestOf(MediaType.ImageManifest, body);
    let caught: unknown;
    try {
      manifestSuccessors(m.desc, m.bytes);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidContentError);
    expect((caught as Error).message).toContain(m.desc.digest);
  });

  it("names the offending field of a bad child", () => {
    const m = manifestOf(MediaType.ImageManifest, {
      ...base(),
      layers: [layer("ok").desc, { mediaType: MediaType.ImageLayer, digest: "md5:abc", size: 3 }],
    });
    expect(() => manifestSuccessors(m.desc, m.bytes)).toThrow(/layers\[1\]\.digest/);
  });

  it("rejects an index without a manifests array", () => {
    const m = manifestOf(MediaType.ImageIndex, { schemaVersion: 2, manifests: "nope" });
    expect(() => manifestSuccessors(m.desc, m.bytes)).toThrow(InvalidContentError);
  });
});

describe("isNonDistributable", () => {
  it("knows the OCI non-distributable and Docker foreign layer types", () => {
    expect(isNonDistributable(content("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "x").desc)).toBe(true);
    expect(isNonDistributable(content("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "x").desc)).toBe(true);
    expect(isNonDistributable(layer("x").desc)).toBe(false);
  });
});
