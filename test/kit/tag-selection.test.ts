import { describe, expect, it } from "vitest";
import { compareVersions, parseSemverRange, parseTagGlob, tagVersion } from "../../src/kit/tag-selection.js";

const TAGS = ["0.9.0", "1.0.0", "v1.1.0", "1.2.0-rc.1", "1.2.0", "1.2.3", "1.2.3_build.5", "1.3.0-0", "1.10.0", "2.0.0-beta", "2.0.0", "1.2", "latest", "01.2.3"];

function chosen(range: string): string[] {
  const matches = parseSemverRange(range);
  return TAGS.filter((tag) => {
    const v = tagVersion(tag);
    return v !== undefined && matches(v);
  });
}

describe("SemVer ranges over tags", () => {
  it.each([
    [">=1.0.0 <2.0.0", ["1.0.0", "v1.1.0", "1.2.0", "1.2.3", "1.2.3_build.5", "1.10.0"]],
    ["^1.2", ["1.2.0", "1.2.3", "1.2.3_build.5", "1.10.0"]],
    ["~1.2.0", ["1.2.0", "1.2.3", "1.2.3_build.5"]],
    ["1.x", ["1.0.0", "v1.1.0", "1.2.0", "1.2.3", "1.2.3_build.5", "1.10.0"]],
    ["1.2.3", ["1.2.3", "1.2.3_build.5"]],
    [">1.2", ["1.10.0", "2.0.0"]],
    ["<=1.2", ["0.9.0", "1.0.0", "v1.1.0", "1.2.0", "1.2.3", "1.2.3_build.5"]],
    ["1.0.0 - 1.2", ["1.0.0", "v1.1.0", "1.2.0", "1.2.3", "1.2.3_build.5"]],
    ["<1.0.0 || >=2.0.0", ["0.9.0", "2.0.0"]],
    // A prerelease only when the range names one of the same version.
    [">=1.2.0-rc.0 <1.3.0", ["1.2.0-rc.1", "1.2.0", "1.2.3", "1.2.3_build.5"]],
    [">=2.0.0-alpha", ["2.0.0-beta", "2.0.0"]],
    ["^0.9", ["0.9.0"]],
    ["*", ["0.9.0", "1.0.0", "v1.1.0", "1.2.0", "1.2.3", "1.2.3_build.5", "1.10.0", "2.0.0"]],
  ])("%s", (range, expected) => {
    expect(chosen(range)).toEqual(expected);
  });

  it("refuses what does not parse, saying what", () => {
    expect(() => parseSemverRange(">=1.0.0 <y")).toThrow('"y" is not a version');
    expect(() => parseSemverRange("1.2.03")).toThrow(/not a version/);
    expect(() => parseSemverRange("x".repeat(300))).toThrow(/at most 256/);
  });

  it("orders versions by SemVer precedence", () => {
    const sorted = ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha.beta", "1.0.0-alpha.1", "1.0.0-alpha", "1.0.0-beta.11", "1.0.0-beta.2"].map((t) => tagVersion(t)!).sort(compareVersions);
    expect(sorted.map((v) => [v.prerelease.join(".")])).toEqual([["alpha"], ["alpha.1"], ["alpha.beta"], ["beta.2"], ["beta.11"], ["rc.1"], [""]]);
  });
});

describe("tag globs", () => {
  it("match * and ? and nothing else specially", () => {
    const stable = parseTagGlob("stable-*");
    expect(["stable-1", "stable-", "stable", "xstable-1"].map(stable)).toEqual([true, true, false, false]);
    expect(["1.2", "1.a", "1.23"].map(parseTagGlob("1.?"))).toEqual([true, true, false]);
    expect(parseTagGlob("1.2")("1x2")).toBe(false);
    expect(() => parseTagGlob("a+b")).toThrow(/"\+" cannot be in a tag/);
  });
});
