import { describe, expect, it } from "vitest";
import { buildKitArtifact, KIT_ARTIFACT_TYPE } from "../../src/kit/artifact.js";
import { canonicalJson } from "../../src/kit/canonical-json.js";
import { parseKitManifest } from "../../src/kit/load.js";
import { sanitizeRemote, createdTimestamp } from "../../src/kit/provenance.js";
import { checkKitConfig, checkKitManifestJson, NotAKitError } from "../../src/kit/verify-artifact.js";
import { InvalidContentError, SizeLimitError } from "../../src/oras/errors.js";

const yaml = Buffer.from('name: famiglia\nversion: "1.0.0"\nimage: ghcr.io/kit/base:latest\nexposes: [{port: 8080}]\n');
const readme = Buffer.from("# famiglia\n");
const digest = `sha256:${"a".repeat(64)}`;
const pinned = `ghcr.io/kit/base:latest@${digest}`;

function artifact(extra: Partial<Parameters<typeof buildKitArtifact>[0]> = {}) {
  return buildKitArtifact({ manifest: parseKitManifest(yaml), kitYaml: yaml, readme, pinnedImage: pinned, ...extra });
}

describe("canonical JSON", () => {
  it("sorts keys at every level and drops whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: "é\"" } })).toBe('{"a":{"c":"é\\"","d":[{"y":2,"z":1}]},"b":1}');
  });
  it("refuses non-integer numbers", () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(/integers only/);
  });
});

describe("kit artifact", () => {
  it("is reproducible: the same input gives the same manifest digest", () => {
    expect(artifact().manifest.descriptor.digest).toBe(artifact().manifest.descriptor.digest);
  });

  it("has the v1 shape: artifactType, canonical config with the pinned image, two titled layers", () => {
    const a = artifact();
    const manifest = JSON.parse(a.manifest.bytes.toString());
    expect(manifest.artifactType).toBe(KIT_ARTIFACT_TYPE);
    expect(manifest.config.mediaType).toBe("application/vnd.aegis.kit.config.v1+json");
    expect(a.config.bytes.toString()).toBe(canonicalJson(JSON.parse(a.config.bytes.toString())));
    expect(JSON.parse(a.config.bytes.toString()).image).toBe(pinned);
    expect(manifest.layers.map((l: { annotations: Record<string, string> }) => l.annotations["org.opencontainers.image.title"])).toEqual(["kit.yaml", "README.md"]);
    expect(a.layers[0].bytes.equals(yaml)).toBe(true);
    expect(manifest.annotations).toEqual({
      "org.opencontainers.image.title": "famiglia",
      "org.opencontainers.image.version": "1.0.0",
      "dev.aegis.kit.image": pinned,
    });
  });

  it("adds created only when asked", () => {
    expect(createdTimestamp(undefined, {})).toBeUndefined();
    expect(createdTimestamp(undefined, { SOURCE_DATE_EPOCH: "1700000000" })).toBe("2023-11-14T22:13:20Z");
    expect(createdTimestamp("2026-01-31T12:00:00Z", {})).toBe("2026-01-31T12:00:00Z");
    expect(() => createdTimestamp("yesterday", {})).toThrow(/invalid --created/);
  });

  it("never records credentials from a git remote", () => {
    expect(sanitizeRemote("https://user:ghp_secret@github.com/org/kits.git")).toBe("https://github.com/org/kits.git");
    expect(sanitizeRemote("git@github.com:org/kits.git")).toBe("ssh://github.com/org/kits.git");
  });
});

describe("checking a kit artifact", () => {
  it("accepts what buildKitArtifact writes", () => {
    const a = artifact();
    const view = checkKitManifestJson(a.manifest.bytes, "r");
    expect(view.config.digest).toBe(a.config.descriptor.digest);
    expect(checkKitConfig(a.config.bytes, a.layers[0].bytes, "r").image).toBe(pinned);
  });

  it("refuses a container image or another artifact as not a kit", () => {
    const image = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: 2 }, layers: [] };
    expect(() => checkKitManifestJson(Buffer.from(JSON.stringify(image)), "r")).toThrow(NotAKitError);
    expect(() => checkKitManifestJson(Buffer.from(JSON.stringify({ ...image, artifactType: "application/x" })), "r")).toThrow(/is not a kit: it has artifactType application\/x/);
    expect(() => checkKitManifestJson(Buffer.from(JSON.stringify({ ...image, mediaType: "application/vnd.oci.image.index.v1+json" })), "r")).toThrow(NotAKitError);
  });

  it("refuses a README title with a path, a missing layer and oversized configs", () => {
    const manifest = JSON.parse(artifact().manifest.bytes.toString());
    const bad = structuredClone(manifest);
    bad.layers[1].annotations["org.opencontainers.image.title"] = "../x";
    expect(() => checkKitManifestJson(Buffer.from(JSON.stringify(bad)), "r")).toThrow(/title annotation "..\/x", expected "README.md"/);
    const short = structuredClone(manifest);
    short.layers.pop();
    expect(() => checkKitManifestJson(Buffer.from(JSON.stringify(short)), "r")).toThrow(/exactly two layers/);
    const big = structuredClone(manifest);
    big.config.size = 1024 * 1024 + 1;
    expect(() => checkKitManifestJson(Buffer.from(JSON.stringify(big)), "r")).toThrow(SizeLimitError);
  });

  it("refuses a config that disagrees with kit.yaml", () => {
    const a = artifact();
    const config = JSON.parse(a.config.bytes.toString());
    config.exposes[0].port = 9090;
    expect(() => checkKitConfig(Buffer.from(canonicalJson(config)), a.layers[0].bytes, "r")).toThrow(/disagrees with its kit.yaml layer \(field exposes\)/);
    config.exposes[0].port = 8080;
    config.image = `ghcr.io/other/base:latest@${digest}`;
    expect(() => checkKitConfig(Buffer.from(canonicalJson(config)), a.layers[0].bytes, "r")).toThrow(/does not match kit.yaml's image/);
  });

  it("refuses an invalid config and an unpinned kit unless allowed", () => {
    expect(() => checkKitConfig(Buffer.from('{"name":"X"}'), yaml, "r")).toThrow(InvalidContentError);
    const unpinned = artifact({ pinnedImage: undefined });
    expect(() => checkKitConfig(unpinned.config.bytes, yaml, "r")).toThrow(/unpinned/);
    expect(checkKitConfig(unpinned.config.bytes, yaml, "r", { allowUnpinned: true }).unpinned).toBe(true);
  });
});
