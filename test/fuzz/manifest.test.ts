/**
 * Fuzzing manifest, index and descriptor parsing (src/oras/manifest.ts): the
 * strict readers return or throw one of our typed errors, the lenient ones
 * never throw, both within the time bound, and they agree: what the strict
 * reader accepts, the lenient one reads the same.
 */
import { describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { SizeLimitError } from "../../src/oras/errors.js";
import { MAX_JSON_DEPTH } from "../../src/oras/limits.js";
import {
  lenientDescriptor,
  manifestChildren,
  manifestLinks,
  parseImageIndex,
  parseImageManifest,
  parseManifestJson,
  parseReferrersIndex,
  readDescriptor,
} from "../../src/oras/manifest.js";
import { bounded, fc, fuzzParams, fuzzTimeout } from "../support/fuzz.js";
import { descriptorLike, mediaTypes, nearValid, stringMap } from "../support/fuzz-oci.js";

const never = () => false;

const manifestLike = nearValid(
  fc.record(
    {
      schemaVersion: fc.constant(2),
      mediaType: fc.constantFrom(...mediaTypes),
      config: descriptorLike,
      layers: fc.array(descriptorLike, { maxLength: 4 }),
      manifests: fc.array(descriptorLike, { maxLength: 4 }),
      blobs: fc.array(descriptorLike, { maxLength: 2 }),
      subject: descriptorLike,
      artifactType: fc.string({ maxLength: 10 }),
      annotations: stringMap,
    },
    { requiredKeys: ["schemaVersion"] },
  ),
  ["schemaVersion", "mediaType", "config", "layers", "manifests", "subject", "annotations"],
);
/** JSON nested `depth` deep at one field of an otherwise plausible manifest: JSON.parse accepts it, JSON.stringify would not. */
const deepManifest = fc
  .tuple(fc.integer({ min: MAX_JSON_DEPTH - 2, max: 20_000 }), fc.constantFrom("schemaVersion", "size", "annotations", "extra"), fc.constantFrom(["[", "]"], ['{"a":', "}"]))
  .map(([depth, field, [open, close]]) => {
    const value = `${open!.repeat(depth)}${close!.repeat(depth)}`;
    const inner = field === "size" ? `"layers":[{"mediaType":"x","digest":"sha256:${"a".repeat(64)}","size":${value}}]` : `"${field}":${value}`;
    return Buffer.from(`{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:${"b".repeat(64)}","size":1},${inner}}`);
  });
const documentBytes = fc.oneof(
  { weight: 4, arbitrary: manifestLike.map((m) => Buffer.from(JSON.stringify(m))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }).map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: deepManifest },
);
const describedBy = fc.record({ mediaType: fc.constantFrom(...mediaTypes), digest: fc.constant(`sha256:${"c".repeat(64)}`), size: fc.nat() });

describe("fuzzing manifests", () => {
  it(
    "strict readers return or throw a typed error; lenient readers never throw; all within the time bound",
    () => {
      fc.assert(
        fc.property(documentBytes, describedBy, (bytes, desc: Descriptor) => {
          bounded(() => parseManifestJson(bytes, "doc"));
          bounded(() => parseImageManifest(desc, bytes));
          bounded(() => parseImageIndex(desc, bytes));
          bounded(() => parseReferrersIndex(bytes, "referrers"));
          bounded(() => manifestLinks(bytes), never);
          bounded(() => manifestChildren(desc, bytes), never);
        }),
        fuzzParams(400),
      );
    },
    fuzzTimeout(),
  );

  it(
    "what the strict descriptor reader accepts, the lenient one reads the same",
    () => {
      fc.assert(
        fc.property(fc.oneof(descriptorLike, fc.jsonValue({ maxDepth: 3 })), (value) => {
          const strict = bounded(() => readDescriptor(value, "d", "doc"));
          const lenient = bounded(() => lenientDescriptor(value), never);
          if (strict.ok) expect(lenient.ok && lenient.value).toEqual(strict.value);
        }),
        fuzzParams(2000),
      );
    },
    fuzzTimeout(),
  );

  it(
    "a strictly parsed index lists the children the store's lenient reader finds",
    () => {
      fc.assert(
        fc.property(manifestLike, (doc) => {
          const bytes = Buffer.from(JSON.stringify(doc));
          const desc: Descriptor = { mediaType: MediaType.ImageIndex, digest: `sha256:${"d".repeat(64)}`, size: bytes.length };
          const strict = bounded(() => parseImageIndex(desc, bytes));
          if (!strict.ok) return;
          expect(manifestLinks(bytes)?.children).toEqual(strict.value.manifests.map((m) => m.digest));
        }),
        fuzzParams(1000),
      );
    },
    fuzzTimeout(),
  );

  it("deep nesting is refused as a size limit, not a stack overflow (minimal counterexample)", () => {
    const deep = Buffer.from(`{"schemaVersion":${"[".repeat(20_000)}${"]".repeat(20_000)}}`);
    expect(() => parseManifestJson(deep, "doc")).toThrow(SizeLimitError);
    expect(() => parseImageManifest({ mediaType: MediaType.ImageManifest, digest: `sha256:${"e".repeat(64)}`, size: deep.length }, deep)).toThrow(
      /nesting of manifest .* exceeds the limit of 64 levels/,
    );
    expect(manifestLinks(deep)).toBeUndefined();
  });
});
