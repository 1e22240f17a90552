import { describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oras/digest.js";
import { InvalidReferenceError, UnsupportedError } from "../../src/oras/errors.js";
import {
  formatReference,
  isLoopbackRegistry,
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

  it("throws typed errors", () => {
    expect(() => parseReference("ghcr.io/Org/x")).toThrow(InvalidReferenceError);
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
