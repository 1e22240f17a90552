/** Trust patterns and which scope decides (spec/config.md, "Trust policy"): pure matching, no registry needed. */
import { describe, expect, it } from "vitest";
import { parseTrustPattern, trustPatternKey, trustScopeFor, type TrustScope } from "../../src/kit/trust.js";
import { parseReference } from "../../src/oras/reference.js";

const scope = (pattern: string, signed = true): TrustScope => ({ pattern: parseTrustPattern(pattern), keys: signed ? ["/k.pub"] : [], signed });
const decide = (scopes: TrustScope[], ref: string) => trustScopeFor({ scopes }, parseReference(ref))?.pattern.text;

describe("trust patterns", () => {
  it("parses the four shapes and normalises hosts as references are", () => {
    expect(parseTrustPattern("*")).toMatchObject({ kind: "any" });
    expect(parseTrustPattern("GHCR.io/*")).toMatchObject({ kind: "prefix", registry: "ghcr.io", path: "" });
    expect(parseTrustPattern("localhost:5000/org/team/*")).toMatchObject({ kind: "prefix", registry: "localhost:5000", path: "org/team" });
    expect(parseTrustPattern("docker.io/alpine")).toMatchObject({ kind: "repository", registry: "docker.io", path: "library/alpine" });
    expect(trustPatternKey(parseTrustPattern("index.docker.io/library/alpine"))).toBe(trustPatternKey(parseTrustPattern("docker.io/alpine")));
  });

  it.each([
    ["ghcr.io", /names a whole registry/],
    ["ghcr.io/org/*/kit", /"\*" may only stand alone or as the last path component/],
    ["ghcr.io/org*", /"\*" may only stand alone/],
    ["ghcr.io/org/kit:1.0.0", /not a tag or digest/],
    ["http://ghcr.io/org/*", /no scheme/],
    ["ghcr.io/Org/kit", /invalid trust pattern/],
  ])("refuses %s", (text, message) => {
    expect(() => parseTrustPattern(text)).toThrow(message);
  });
});

describe("the scope that decides", () => {
  const scopes = [scope("*"), scope("ghcr.io/*"), scope("ghcr.io/org/*"), scope("ghcr.io/org/team/*"), scope("ghcr.io/org/free", false)];

  it.each([
    ["ghcr.io/org/free:1", "ghcr.io/org/free"],
    ["ghcr.io/org/free-kit:1", "ghcr.io/org/*"],
    ["ghcr.io/org/team/kit@sha256:" + "a".repeat(64), "ghcr.io/org/team/*"],
    ["ghcr.io/org:1", "ghcr.io/*"],
    ["ghcr.io/other/kit:1", "ghcr.io/*"],
    ["quay.io/org/kit:1", "*"],
  ])("%s is decided by %s", (ref, expected) => {
    expect(decide(scopes, ref)).toBe(expected);
  });

  it("is none when no pattern matches, and order in the file does not matter", () => {
    expect(decide([scope("ghcr.io/org/*")], "ghcr.io/orgx/kit:1")).toBeUndefined();
    expect(decide([scope("ghcr.io/org/*")], "quay.io/org/kit:1")).toBeUndefined();
    expect(decide([...scopes].reverse(), "ghcr.io/org/team/kit:1")).toBe("ghcr.io/org/team/*");
  });
});
