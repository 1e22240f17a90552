import { describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oras/digest.js";
import { InvalidReferenceError, UnsupportedError } from "../../src/oras/errors.js";
import {
  formatReference,
  isLoopbackRegistry,
  namesRegistryHost,
  parseLayoutReference,
  parseReference,
  parseRegistryHost,
  parseTargetReference,
  registryEndpoint,
} from "../../src/oras/reference.js";

const D = `sha256:${"a".repeat(64)}`;

describe("registry references", () => {
  it.each([
    ["ghcr.io/org/app:1.0", { registry: "ghcr.io", repository: "org/app", tag: "1.0" }],
    ["localhost:5000/x", { registry: "localhost:5000", repository: "x" }],
    ["[::1]:5000/team/x:v1", { registry: "[::1]:5000", repository: "team/x", tag: "v1" }],
    ["127.0.0.1:5000/a/b/c@" + D, { registry: "127.0.0.1:5000", repository: "a/b/c", digest: D }],
    ["ubuntu", { registry: "docker.io", repository: "library/ubuntu" }],
    ["ubuntu:24.04", { registry: "docker.io", repository: "library/ubuntu", tag: "24.04" }],
    ["bitnami/redis:7", { registry: "docker.io", repository: "bitnami/redis", tag: "7" }],
    ["docker.io/library/alpine:3", { registry: "docker.io", repository: "library/alpine", tag: "3" }],
    ["index.docker.io/alpine", { registry: "docker.io", repository: "library/alpine" }],
    ["registry-1.docker.io/org/x", { registry: "docker.io", repository: "org/x" }],
    ["GHCR.IO/org/app:Tag_1", { registry: "ghcr.io", repository: "org/app", tag: "Tag_1" }],
    [`ghcr.io/org/app:1.0@${D}`, { registry: "ghcr.io", repository: "org/app", tag: "1.0", digest: D }],
    ["ghcr.io/a__b/c-d.e:x", { registry: "ghcr.io", repository: "a__b/c-d.e", tag: "x" }],
  ])("parses %s", (input, expected) => {
    expect(parseReference(input)).toEqual({ kind: "registry", ...expected });
  });

  it("round-trips through formatReference, spelling Docker Hub out", () => {
    expect(formatReference(parseReference("alpine:3"))).toBe("docker.io/library/alpine:3");
    expect(formatReference(parseReference(`ghcr.io/o/a:1@${D}`))).toBe(`ghcr.io/o/a:1@${D}`);
  });

  it.each([
    ["", /empty reference/],
    ["ghcr.io/Org/app", /invalid repository path component "Org".*lowercase/],
    ["ghcr.io/org/app:", /invalid tag ""/],
    ["ghcr.io/org/app:-bad", /invalid tag "-bad"/],
    [`ghcr.io/org/app:${"t".repeat(129)}`, /invalid tag/],
    ["ghcr.io/org/app@sha256:abc", /expected 64 lowercase hex digits/],
    ["ghcr.io/org/app@md5:" + "a".repeat(32), /unsupported digest algorithm "md5"/],
    ["ghcr.io:99999/x", /invalid port "99999"/],
    ["-bad.io/x", /invalid registry host/],
    ["ghcr.io/org//app", /invalid repository path component ""/],
    ["ghcr.io/", /invalid repository path component ""/],
    [`${"a".repeat(250)}.io/x/y`, /longer than 255/],
  ])("rejects %j naming the bad part", (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
  });

  // Found by fuzzing: messages quoted the whole input, which can be a 1 MiB field of kit.yaml.
  it("refuses text longer than any reference before quoting it", () => {
    for (const parse of [parseReference, parseRegistryHost]) {
      const err = (() => {
        try {
          parse(`ghcr.io/${"a".repeat(1024 * 1024)}`);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(InvalidReferenceError);
      expect(err!.message).toMatch(/^invalid reference "ghcr.io\/a+…": 1048584 characters, more than a reference can have \(520\)$/);
      expect(err!.message.length).toBeLessThan(200);
    }
  });

  it("throws typed errors: a digest that does not parse is an invalid reference, an unknown algorithm unsupported", () => {
    expect(() => parseReference("ghcr.io/Org/x")).toThrow(InvalidReferenceError);
    expect(() => parseReference(`ghcr.io/org/app@md5:${"a".repeat(32)}`)).toThrow(UnsupportedError);
    expect(() => parseLayoutReference(`oci:/tmp/x@md5:${"a".repeat(32)}`)).toThrow(UnsupportedError);
    expect(() => parseReference("ghcr.io/org/app@sha256:abc")).toThrow(InvalidReferenceError);
  });

  it.each(["http://localhost:5000/x:1", "https://ghcr.io/org/app:1", "oci://ghcr.io/org/app:1", "docker://ghcr.io/org/app"])(
    "refuses the URL %s, naming the reference to write",
    (input) => {
      expect(() => parseReference(input)).toThrow(new RegExp(`a reference has no URL scheme; write ${input.replace(/^[a-z]+:\/\//, "")}$`));
    },
  );

  it("knows whether a reference names its registry or implies Docker Hub", () => {
    expect(namesRegistryHost("my-kit:1.0.0")).toBe(false);
    expect(namesRegistryHost("org/app")).toBe(false);
    expect(namesRegistryHost("docker.io/library/app")).toBe(true);
    expect(namesRegistryHost("localhost/app")).toBe(true);
    expect(namesRegistryHost("oci://127.0.0.1:5000/app")).toBe(true);
  });
});

describe("digests", () => {
  it("requires sha256 with 64 hex digits and accepts sha512 with 128", () => {
    expect(parseDigest(D)).toEqual({ algorithm: "sha256", hex: "a".repeat(64) });
    expect(parseDigest(`sha512:${"b".repeat(128)}`).algorithm).toBe("sha512");
    expect(() => parseDigest(`sha512:${"b".repeat(64)}`)).toThrow(/expected 128/);
    expect(() => parseDigest(`sha256:${"A".repeat(64)}`)).toThrow(/lowercase hex/);
    expect(() => parseDigest(`blake3:${"a".repeat(64)}`)).toThrow(UnsupportedError);
    expect(() => parseDigest("sha256")).toThrow(InvalidReferenceError);
  });
});

describe("OCI layout references", () => {
  it.each([
    ["oci:/tmp/layout", { path: "/tmp/layout" }],
    ["oci:/tmp/layout:v1", { path: "/tmp/layout", tag: "v1" }],
    [`oci:./rel/dir@${D}`, { path: "./rel/dir", digest: D }],
    ["oci:/a:b/c:tag", { path: "/a:b/c", tag: "tag" }],
  ])("parses %s", (input, expected) => {
    expect(parseLayoutReference(input)).toEqual({ kind: "layout", ...expected });
  });

  it("takes oci://HOST/REPO as the registry reference Helm means, never as a layout path", () => {
    expect(parseTargetReference("oci://127.0.0.1:5101/org/my-kit:1.0.0")).toEqual({ kind: "registry", registry: "127.0.0.1:5101", repository: "org/my-kit", tag: "1.0.0" });
    expect(parseTargetReference(`oci://ghcr.io/org/kit@${D}`)).toEqual({ kind: "registry", registry: "ghcr.io", repository: "org/kit", digest: D });
    expect(() => parseTargetReference("oci://my-kit:1.0.0")).toThrow(/must be followed by a registry host/);
    expect(() => parseTargetReference("oci:///tmp/layout")).toThrow(InvalidReferenceError);
    expect(() => parseLayoutReference("oci://ghcr.io/org/kit:1")).toThrow(/names a registry \(Helm's oci:\/\/HOST\/REPO form\), not an OCI layout/);
    expect(() => parseTargetReference("https://ghcr.io/org/kit:1")).toThrow(InvalidReferenceError);
  });

  it("chooses the kind by prefix and rejects an empty path", () => {
    expect(parseTargetReference("oci:/x").kind).toBe("layout");
    expect(parseTargetReference("ghcr.io/x").kind).toBe("registry");
    expect(() => parseLayoutReference("oci:")).toThrow(/missing layout path/);
    expect(() => parseLayoutReference("oci:/x:bad tag")).toThrow(/invalid tag/);
  });
});

describe("registry hosts", () => {
  it("normalises what users type for login", () => {
    expect(parseRegistryHost("https://index.docker.io/v1/")).toBe("docker.io");
    expect(parseRegistryHost("localhost:5000")).toBe("localhost:5000");
    expect(parseRegistryHost("GHCR.io")).toBe("ghcr.io");
    expect(() => parseRegistryHost("not a host")).toThrow(InvalidReferenceError);
    expect(() => parseRegistryHost("ubuntu")).toThrow(/expected a host/);
  });

  it("knows loopback registries and Docker Hub's endpoint", () => {
    expect(isLoopbackRegistry("localhost:5000")).toBe(true);
    expect(isLoopbackRegistry("127.3.4.5:80")).toBe(true);
    expect(isLoopbackRegistry("[::1]:5000")).toBe(true);
    expect(isLoopbackRegistry("ghcr.io")).toBe(false);
    expect(isLoopbackRegistry("localhost.evil.com")).toBe(false);
    expect(registryEndpoint("docker.io")).toBe("registry-1.docker.io");
    expect(registryEndpoint("ghcr.io")).toBe("ghcr.io");
  });
});
