/** fast-check arbitraries for OCI content: descriptors and manifests that are valid, or one field away from it. */
import { MediaType } from "../../src/oras/descriptor.js";
import { fc } from "./fuzz.js";

const HEX = "0123456789abcdef";
export const mediaTypes = [
  MediaType.ImageManifest,
  MediaType.ImageIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  "application/vnd.oci.artifact.manifest.v1+json",
  "application/octet-stream",
];

/** A valid record, or one with a field replaced by any JSON value or removed: most inputs sit near the rules. */
export function nearValid<T extends Record<string, unknown>>(valid: fc.Arbitrary<T>, fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const broken = fc
    .tuple(valid, fc.constantFrom(...fields), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }))
    .map(([v, field, value]) => {
      const out: Record<string, unknown> = { ...v };
      if (value === undefined) delete out[field];
      else out[field] = value;
      return out;
    });
  return fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: broken });
}

export const digest = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...HEX), minLength: 64, maxLength: 64 }).map((h) => `sha256:${h}`) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(..."0123456789abcdefABC:+._-"), maxLength: 70 }).map((h) => `sha256:${h}`) },
  { weight: 1, arbitrary: fc.constantFrom("md5:abc", "sha256:", ":", `sha512:${"a".repeat(128)}`) },
);
export const stringMap = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });
export const descriptorLike = nearValid(
  fc.record(
    {
      mediaType: fc.constantFrom(...mediaTypes),
      digest,
      size: fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER)),
      urls: fc.array(fc.webUrl(), { maxLength: 2 }),
      annotations: stringMap,
      platform: fc.record({ architecture: fc.constantFrom("amd64", "arm64"), os: fc.constant("linux") }),
      artifactType: fc.string({ maxLength: 10 }),
      data: fc.base64String({ maxLength: 12 }),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ["mediaType", "digest", "size"] },
  ),
  ["mediaType", "digest", "size", "urls", "annotations", "platform", "artifactType", "data"],
);
