import { describe, expect, it } from "vitest";
import { formatMirrorLocation, mirroredReference, parseMirrorLocation, parseReference } from "../../src/oras/content.js";

describe("mirror locations", () => {
  it("parse HOST[:PORT][/PREFIX]", () => {
    expect(parseMirrorLocation("m.local:5000/airgap")).toEqual({ registry: "m.local:5000", prefix: "airgap" });
    expect(parseMirrorLocation("m.local:5000")).toEqual({ registry: "m.local:5000", prefix: "" });
    expect(parseMirrorLocation("127.0.0.1:5000/a/b/")).toEqual({ registry: "127.0.0.1:5000", prefix: "a/b" });
    expect(parseMirrorLocation("localhost/x")).toEqual({ registry: "localhost", prefix: "x" });
    expect(parseMirrorLocation("[::1]:5000")).toEqual({ registry: "[::1]:5000", prefix: "" });
    expect(formatMirrorLocation(parseMirrorLocation("m.local:5000/airgap"))).toBe("m.local:5000/airgap");
  });

  it("refuse what is not a location, saying how to write one", () => {
    for (const bad of ["", "airgap", "https://m.local:5000", "m.local:5000/x:1", "m.local/x@sha256:" + "a".repeat(64), "m.local:5000/UPPER", "m.local:5000//x"]) {
      expect(() => parseMirrorLocation(bad), bad).toThrow(/invalid mirror/);
    }
  });

  it("keep the repository path under the prefix, with tag and digest", () => {
    const digest = "sha256:" + "d".repeat(64);
    const loc = parseMirrorLocation("m.local:5000/airgap");
    expect(mirroredReference(parseReference("ghcr.io/org/famiglia-kit:1.0.0"), loc)).toEqual(parseReference("m.local:5000/airgap/org/famiglia-kit:1.0.0"));
    expect(mirroredReference(parseReference(`ghcr.io/kit/base:1@${digest}`), loc)).toEqual(parseReference(`m.local:5000/airgap/kit/base:1@${digest}`));
    expect(mirroredReference(parseReference("alpine"), loc)).toEqual(parseReference("m.local:5000/airgap/library/alpine"));
    expect(mirroredReference(parseReference("ghcr.io/org/x"), parseMirrorLocation("m.local:5000"))).toEqual(parseReference("m.local:5000/org/x"));
  });
});
