import { describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf, isDigest, parseDigest } from "../../src/oras/digest.js";
import { InvalidContentError, SizeLimitError } from "../../src/oras/errors.js";
import {
  ARTIFACT_MANIFEST_MEDIA_TYPE,
  lenientDescriptor,
  manifestChildren,
  manifestLinks,
  parseImageIndex,
  parseImageManifest,
  parseManifestJson,
  parseReferrersIndex,
  readDescriptor,
  referrerDescriptor,
} from "../../src/oras/manifest.js";
import { MAX_MANIFEST_BYTES } from "../../src/oras/limits.js";
import { descriptorOf } from "../support/content.js";

const cfg = descriptorOf("{}", MediaType.EmptyJSON);
const lay = descriptorOf("layer", MediaType.ImageLayerGzip);
const subject = descriptorOf("subject", MediaType.ImageManifest);

function doc(mediaType: string, body: unknown): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify(body));
  return { desc: { mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

describe("readDescriptor (strict)", () => {
  it.each([
    ["not an object", "x", /^m: layers\[2\] must be a descriptor object$/],
    ["no mediaType", { digest: lay.digest, size: 1 }, /^m: layers\[2\]\.mediaType must be a non-empty string$/],
    ["an empty mediaType", { ...lay, mediaType: "" }, /layers\[2\]\.mediaType/],
    ["a digest that is a number", { ...lay, digest: 5 }, /^m: layers\[2\]\.digest must be a string$/],
    ["a malformed digest", { ...lay, digest: "sha256:xyz" }, /^m: layers\[2\]\.digest is invalid: invalid sha256 digest/],
    ["an unsupported algorithm", { ...lay, digest: `md5:${"a".repeat(32)}` }, /layers\[2\]\.digest is invalid: unsupported digest algorithm/],
    ["a negative size", { ...lay, size: -1 }, /^m: layers\[2\]\.size must be a non-negative integer, got -1$/],
    ["a string size", { ...lay, size: "3" }, /layers\[2\]\.size must be a non-negative integer, got "3"/],
    ["urls of numbers", { ...lay, urls: [1] }, /^m: layers\[2\]\.urls must be an array of strings$/],
    ["a non-string annotation", { ...lay, annotations: { a: "x", b: 2 } }, /^m: layers\[2\]\.annotations must be an object of strings$/],
    ["a platform without os", { ...lay, platform: { architecture: "amd64" } }, /layers\[2\]\.platform needs string architecture and os/],
    ["a numeric artifactType", { ...lay, artifactType: 1 }, /layers\[2\]\.artifactType must be a string/],
    ["data that is not a string", { ...lay, data: [] }, /layers\[2\]\.data must be a base64 string/],
  ])("refuses %s, naming the field", (_name, value, message) => {
    const err = errorOf(() => readDescriptor(value, "layers[2]", "m"));
    expect(err).toBeInstanceOf(InvalidContentError);
    expect(err.message).toMatch(message);
  });

  it("keeps only descriptor fields, or everything as found when asked", () => {
    const full = { ...lay, urls: ["https://x"], annotations: { a: "b" }, platform: { architecture: "arm64", os: "linux" }, artifactType: "t", data: "eA==", extra: 1 };
    const { extra: _extra, ...known } = full;
    expect(readDescriptor(full, "d", "m")).toEqual(known);
    expect(readDescriptor(full, "d", "m", { keepUnknownFields: true })).toEqual(full);
  });

  it("puts the hint on every error", () => {
    expect((errorOf(() => readDescriptor({}, "d", "m", { hint: "fix it" })) as InvalidContentError).hint).toBe("fix it");
  });
});

describe("parseImageManifest, parseImageIndex", () => {
  it("returns config and layers, and an index's manifests, validated", () => {
    const m = doc(MediaType.ImageManifest, { schemaVersion: 2, mediaType: MediaType.ImageManifest, config: cfg, layers: [lay] });
    expect(parseImageManifest(m.desc, m.bytes)).toEqual({ config: cfg, layers: [lay] });
    const platform = { architecture: "amd64", os: "linux" };
    const i = doc(MediaType.DockerManifestList, { schemaVersion: 2, manifests: [{ ...m.desc, platform }] });
    expect(parseImageIndex(i.desc, i.bytes)).toEqual({ manifests: [{ ...m.desc, platform }] });
  });

  it("names the manifest's digest and the field in every error", () => {
    const m = doc(MediaType.ImageManifest, { schemaVersion: 2, config: cfg, layers: [lay, { ...lay, size: 1.5 }] });
    const err = errorOf(() => parseImageManifest(m.desc, m.bytes));
    expect(err.message).toBe(`manifest ${m.desc.digest}: layers[1].size must be a non-negative integer, got 1.5`);
    const i = doc(MediaType.ImageIndex, { schemaVersion: 2, manifests: [{ mediaType: MediaType.ImageManifest, size: 1 }] });
    expect(errorOf(() => parseImageIndex(i.desc, i.bytes)).message).toBe(`manifest ${i.desc.digest}: manifests[0].digest must be a string`);
  });

  it("refuses a media type of the other family, and a body contradicting its descriptor", () => {
    const i = doc(MediaType.ImageIndex, { schemaVersion: 2, manifests: [] });
    expect(() => parseImageManifest(i.desc, i.bytes)).toThrow(/is not an image manifest media type/);
    expect(() => parseImageIndex({ ...i.desc, mediaType: MediaType.ImageManifest }, i.bytes)).toThrow(/is not an image index media type/);
    const m = doc(MediaType.ImageManifest, { schemaVersion: 2, mediaType: MediaType.DockerManifest, config: cfg, layers: [] });
    expect(() => parseImageManifest(m.desc, m.bytes)).toThrow(/contradicts the descriptor's/);
  });
});

describe("parseManifestJson", () => {
  it("refuses invalid UTF-8, non-objects and oversized documents", () => {
    expect(() => parseManifestJson(Buffer.from([0x7b, 0xff, 0x7d]), "doc")).toThrow(/^doc is not valid UTF-8 JSON$/);
    expect(() => parseManifestJson(Buffer.from("[1]"), "doc")).toThrow(/^doc is not a JSON object$/);
    expect(() => parseManifestJson(Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20), "doc")).toThrow(SizeLimitError);
  });
});

describe("parseReferrersIndex", () => {
  it("lists validated descriptors; no manifests means none", () => {
    const referrer = { ...descriptorOf("sig", MediaType.ImageManifest), artifactType: "application/x-sig" };
    expect(parseReferrersIndex(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [referrer] })), "r")).toEqual([referrer]);
    expect(parseReferrersIndex(Buffer.from(JSON.stringify({ schemaVersion: 2 })), "r")).toEqual([]);
    expect(parseReferrersIndex(Buffer.from(JSON.stringify({ manifests: null })), "r")).toEqual([]);
  });

  it("refuses an entry with non-string annotations, naming it", () => {
    const bad = { ...descriptorOf("sig", MediaType.ImageManifest), annotations: { n: 1 } };
    expect(() => parseReferrersIndex(Buffer.from(JSON.stringify({ manifests: [bad] })), "referrers of x")).toThrow(
      /^referrers of x: manifests\[0\]\.annotations must be an object of strings$/,
    );
    expect(() => parseReferrersIndex(Buffer.from(JSON.stringify({ manifests: {} })), "r")).toThrow(/"manifests" is not an array/);
  });
});

describe("lenient readers", () => {
  const garbage: unknown[] = [
    null,
    1,
    "x",
    [],
    [1, 2],
    {},
    { manifests: "no" },
    { manifests: [null, 1, { digest: 5 }, { digest: "sha256:short", mediaType: "x", size: 1 }] },
    { config: [], layers: {}, blobs: [{}] },
    { subject: { digest: subject.digest } },
    { subject: "x", annotations: [], artifactType: 5, mediaType: 7 },
    { annotations: { a: {} }, config: { mediaType: 3 } },
  ];

  it("never throw, whatever the bytes", () => {
    const inputs: Buffer[] = [
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.alloc(0),
      Buffer.from("{"),
      Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20),
      ...garbage.map((g) => Buffer.from(JSON.stringify(g))),
    ];
    // Some pseudo-random byte strings too (a fixed seed, so a failure repeats).
    let seed = 7;
    for (let n = 0; n < 200; n++) {
      const bytes = Buffer.alloc(n % 40);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
      inputs.push(bytes);
    }
    for (const bytes of inputs) {
      for (const mediaType of [MediaType.ImageManifest, MediaType.ImageIndex, ARTIFACT_MANIFEST_MEDIA_TYPE]) {
        expect(() => manifestChildren({ mediaType, digest: digestOf(bytes), size: bytes.length }, bytes)).not.toThrow();
      }
      expect(() => manifestLinks(bytes)).not.toThrow();
    }
    for (const value of garbage) expect(() => lenientDescriptor(value)).not.toThrow();
  });

  it("give nothing for unreadable bytes, and only well-formed descriptors otherwise", () => {
    const desc = (bytes: Buffer): Descriptor => ({ mediaType: MediaType.ImageManifest, digest: digestOf(bytes), size: bytes.length });
    const notJson = Buffer.from([0xff, 0xfe, 0x00]);
    expect(manifestLinks(notJson)).toBeUndefined();
    expect(manifestChildren(desc(notJson), notJson)).toBeUndefined();
    const messy = Buffer.from(JSON.stringify(garbage[7]));
    expect(manifestLinks(messy)).toEqual({ children: [] });
    expect(manifestChildren(desc(messy), messy)).toEqual([]);
    // Content that is not a manifest has no children, whatever it holds.
    expect(manifestChildren({ ...desc(messy), mediaType: "application/octet-stream" }, messy)).toEqual([]);
  });

  it("lenientDescriptor drops a broken optional field and keeps the rest", () => {
    expect(lenientDescriptor({ ...lay, annotations: { a: 1 }, artifactType: "t" })).toEqual({ ...lay, artifactType: "t" });
    expect(lenientDescriptor({ ...lay, size: -1 })).toBeUndefined();
    expect(lenientDescriptor({ ...lay, digest: "sha256:abc" })).toBeUndefined();
  });

  it("manifestLinks infers the media type, and reads subject, artifactType and string annotations", () => {
    const image = Buffer.from(JSON.stringify({ schemaVersion: 2, config: cfg, layers: [], subject, annotations: { a: "b" } }));
    expect(manifestLinks(image)).toEqual({ mediaType: MediaType.ImageManifest, children: [], subject, artifactType: cfg.mediaType, annotations: { a: "b" } });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [subject], artifactType: "t", annotations: { a: 1 } }));
    expect(manifestLinks(index)).toEqual({ mediaType: MediaType.ImageIndex, children: [subject.digest], artifactType: "t" });
    expect(manifestLinks(Buffer.from(JSON.stringify({ schemaVersion: 1, manifests: [] })))).toEqual({ children: [] });
  });

  it("manifestChildren lists config, layers, manifests and an old artifact manifest's blobs", () => {
    const m = doc(MediaType.ImageManifest, { schemaVersion: 2, config: cfg, layers: [lay, { bad: true }], subject });
    expect(manifestChildren(m.desc, m.bytes)).toEqual([cfg, lay]);
    const a = doc(ARTIFACT_MANIFEST_MEDIA_TYPE, { mediaType: ARTIFACT_MANIFEST_MEDIA_TYPE, blobs: [lay], subject });
    expect(manifestChildren(a.desc, a.bytes)).toEqual([lay]);
    const i = doc(MediaType.ImageIndex, { schemaVersion: 2, manifests: [m.desc] });
    expect(manifestChildren(i.desc, i.bytes)).toEqual([m.desc]);
  });
});

describe("referrerDescriptor", () => {
  const desc = descriptorOf("referrer", MediaType.ImageManifest);

  it("gives the manifest's descriptor with artifactType and annotations", () => {
    expect(referrerDescriptor({ ...desc, urls: ["x"] }, { artifactType: "t", annotations: { a: "b" } })).toEqual({ ...desc, artifactType: "t", annotations: { a: "b" } });
  });

  it("drops annotations whose values are not all strings", () => {
    const links = manifestLinks(Buffer.from(JSON.stringify({ schemaVersion: 2, config: cfg, layers: [], subject, annotations: { a: "b", n: 1 } })))!;
    expect(referrerDescriptor(desc, links)).toEqual({ ...desc, artifactType: cfg.mediaType });
    // Also when a caller builds the links itself.
    const forged = { annotations: { n: 1 } as unknown as Record<string, string> };
    expect(referrerDescriptor(desc, forged)).toEqual(desc);
  });
});

describe("isDigest", () => {
  it("agrees with parseDigest", () => {
    const samples = [digestOf("x"), digestOf("x", "sha512"), "sha256:ABC", `sha256:${"A".repeat(64)}`, `sha384:${"a".repeat(96)}`, `sha256:${"a".repeat(63)}`, "sha256", "", `sha256:${"a".repeat(64)}\n`];
    for (const text of samples) {
      let parses = true;
      try {
        parseDigest(text);
      } catch {
        parses = false;
      }
      expect(isDigest(text)).toBe(parses);
    }
  });
});
