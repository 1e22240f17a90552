import { describe, expect, it } from "vitest";
import { KitManifestSchema } from "../../src/kit/schema.js";

const base = {
  name: "famiglia",
  version: "1.0.0",
  image: "ghcr.io/kit/base:latest",
};

function errors(input: unknown): string[] {
  const result = KitManifestSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

function accepts(patch: Record<string, unknown>) {
  expect(errors({ ...base, ...patch })).toEqual([]);
}

function rejects(patch: Record<string, unknown>, pathAndMessage: RegExp) {
  const found = errors({ ...base, ...patch });
  expect(found.length).toBeGreaterThan(0);
  expect(found.join("\n")).toMatch(pathAndMessage);
}

describe("kit manifest v1 schema", () => {
  it("accepts the seed example and applies the tcp default", () => {
    const parsed = KitManifestSchema.parse({
      ...base,
      description: "Team agents",
      secrets: { required: [{ name: "API_KEY", description: "Required API key" }], optional: [{ name: "EXTRA_KEY" }] },
      exposes: [{ port: 8080 }],
      resources: { memory_mb: 1024, vcpus: 2, max_memory_mb: 4096, max_vcpus: 4 },
      egress: ["api.example.com"],
    });
    expect(parsed.exposes).toEqual([{ port: 8080, protocol: "tcp" }]);
  });

  it("requires name, version and image", () => {
    expect(errors({})).toEqual(expect.arrayContaining([expect.stringMatching(/^name:/), expect.stringMatching(/^version:/), expect.stringMatching(/^image:/)]));
  });

  describe("name", () => {
    it("accepts a lowercase slug up to 63 characters", () => {
      accepts({ name: "a" });
      accepts({ name: "team-agents-2" });
      accepts({ name: "a".repeat(63) });
    });
    it("rejects uppercase, leading/trailing hyphens, other characters and 64 characters", () => {
      rejects({ name: "Famiglia" }, /^name: must be lowercase/m);
      rejects({ name: "-famiglia" }, /^name:/m);
      rejects({ name: "famiglia-" }, /^name:/m);
      rejects({ name: "fam_iglia" }, /^name:/m);
      rejects({ name: "fam/iglia" }, /^name:/m);
      rejects({ name: "a".repeat(64) }, /^name: must be at most 63/m);
      rejects({ name: "" }, /^name:/m);
    });
  });

  describe("version", () => {
    it("accepts SemVer 2.0 with pre-release and build metadata", () => {
      accepts({ version: "0.0.0" });
      accepts({ version: "1.2.3-rc.1+build.5" });
    });
    it("rejects a leading v, partial versions, leading zeros and numbers", () => {
      rejects({ version: "v1.0.0" }, /^version: must be a SemVer 2.0/m);
      rejects({ version: "1.0" }, /^version:/m);
      rejects({ version: "01.0.0" }, /^version:/m);
      rejects({ version: "1.0.0-01" }, /^version:/m);
      rejects({ version: 1 }, /^version: must be a string \(quote it/m);
    });
  });

  describe("image", () => {
    it("accepts tags, digests, both, ports and Docker Hub short names", () => {
      accepts({ image: "ghcr.io/org/base:1.0" });
      accepts({ image: `ghcr.io/org/base@sha256:${"a".repeat(64)}` });
      accepts({ image: `localhost:5000/base:1@sha256:${"b".repeat(64)}` });
      accepts({ image: "ubuntu:24.04" });
    });
    it("rejects references without tag or digest, bad digests and uppercase repositories", () => {
      rejects({ image: "ghcr.io/org/base" }, /^image: must include a tag or a digest/m);
      rejects({ image: "ghcr.io/org/base@sha256:abc" }, /^image: is not a valid OCI image reference/m);
      rejects({ image: "ghcr.io/Org/base:1" }, /^image: .*lowercase/m);
      rejects({ image: "" }, /^image:/m);
    });
  });

  describe("secrets", () => {
    it("accepts environment variable names", () => {
      accepts({ secrets: { required: [{ name: "_X" }, { name: "API_KEY_2" }], optional: [] } });
    });
    it("rejects lowercase names, leading digits and unknown keys", () => {
      rejects({ secrets: { required: [{ name: "api_key" }] } }, /^secrets\.required\.0\.name: must be an environment variable name/m);
      rejects({ secrets: { required: [{ name: "1KEY" }] } }, /^secrets\.required\.0\.name:/m);
      rejects({ secrets: { required: [{ name: "KEY", value: "x" }] } }, /unrecognized|Unrecognized/);
    });
    it("rejects a name used twice across required and optional", () => {
      rejects({ secrets: { required: [{ name: "KEY" }], optional: [{ name: "KEY" }] } }, /^secrets\.optional\.0\.name: duplicate secret name "KEY"/m);
    });
  });

  describe("exposes", () => {
    it("accepts ports 1-65535 and the same port on tcp and udp", () => {
      accepts({ exposes: [{ port: 1 }, { port: 65535 }, { port: 53, protocol: "tcp" }, { port: 53, protocol: "udp" }] });
    });
    it("rejects out-of-range ports, other protocols and duplicates per protocol", () => {
      rejects({ exposes: [{ port: 0 }] }, /^exposes\.0\.port: must be between 1 and 65535/m);
      rejects({ exposes: [{ port: 65536 }] }, /^exposes\.0\.port:/m);
      rejects({ exposes: [{ port: 80.5 }] }, /^exposes\.0\.port: must be an integer/m);
      rejects({ exposes: [{ port: 80, protocol: "sctp" }] }, /^exposes\.0\.protocol:/m);
      rejects({ exposes: [{ port: 80 }, { port: 80, protocol: "tcp" }] }, /^exposes\.1\.port: duplicate port 80\/tcp/m);
    });
  });

  describe("resources", () => {
    it("accepts positive integers with defaults at or below maximums", () => {
      accepts({ resources: { memory_mb: 4096, vcpus: 4, max_memory_mb: 4096, max_vcpus: 4 } });
      accepts({ resources: { memory_mb: 512 } });
    });
    it("rejects zero, negatives and fractions", () => {
      rejects({ resources: { memory_mb: 0 } }, /^resources\.memory_mb: must be a positive integer/m);
      rejects({ resources: { vcpus: -1 } }, /^resources\.vcpus:/m);
      rejects({ resources: { max_vcpus: 1.5 } }, /^resources\.max_vcpus:/m);
    });
    it("rejects a default above its maximum", () => {
      rejects({ resources: { memory_mb: 8192, max_memory_mb: 4096 } }, /^resources\.memory_mb: must be <= max_memory_mb \(4096\)/m);
      rejects({ resources: { vcpus: 8, max_vcpus: 4 } }, /^resources\.vcpus: must be <= max_vcpus \(4\)/m);
    });
  });

  describe("egress", () => {
    it("accepts host names, wildcard first labels and ports", () => {
      accepts({ egress: ["api.example.com", "*.example.com", "localhost", "chat.example.com:5222"] });
    });
    it("rejects schemes, paths, inner wildcards, bad ports, uppercase and duplicates", () => {
      rejects({ egress: ["https://api.example.com"] }, /^egress\.0: must be a host name without a scheme/m);
      rejects({ egress: ["api.example.com/v1"] }, /^egress\.0: must be a host name without a path/m);
      rejects({ egress: ["api.*.com"] }, /^egress\.0: may use "\*" only as the whole first label/m);
      rejects({ egress: ["*"] }, /^egress\.0: may use "\*" only/m);
      rejects({ egress: ["*api.example.com"] }, /^egress\.0:/m);
      rejects({ egress: ["api.example.com:0"] }, /^egress\.0: port must be between 1 and 65535/m);
      rejects({ egress: ["api.example.com:70000"] }, /^egress\.0: port must be between 1 and 65535/m);
      rejects({ egress: ["API.example.com"] }, /^egress\.0: must be lowercase/m);
      rejects({ egress: ["a..b"] }, /^egress\.0:/m);
      rejects({ egress: ["x.com", "x.com"] }, /^egress\.1: duplicate egress host/m);
    });
  });

  it("rejects unknown keys at every depth", () => {
    rejects({ secret: {} }, /Unrecognized key/);
    rejects({ resources: { memory: 1 } }, /^resources: .*Unrecognized key/m);
    rejects({ exposes: [{ port: 1, host: "x" }] }, /^exposes\.0: .*Unrecognized key/m);
  });
});
