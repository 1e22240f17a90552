/**
 * Fuzzing the `kit mirror -f` list reader (src/kit/mirror-list.ts): any bytes give a list or located issues
 * (parseMirrorList: an InvalidContentError), never a stray exception, within the time bound; lists at the size
 * of the token budget included. Ranges and tag patterns any text: a matcher or an Error, never a hang.
 */
import { describe, expect, it } from "vitest";
import { checkMirrorList, parseMirrorList } from "../../src/kit/mirror-list.js";
import { MAX_MIRROR_LIST_TOKENS } from "../../src/kit/limits.js";
import { parseSemverRange, parseTagGlob, tagVersion } from "../../src/kit/tag-selection.js";
import { InvalidContentError } from "../../src/oras/errors.js";
import { bounded, fc, fuzzParams, fuzzTimeout } from "../support/fuzz.js";

const never = () => false;
const fragment = fc.constantFrom(
  "kits:", "repository: ", "tags: ", "semver: ", "- ", "  ", "\n", "[", "]", "{", "}", ", ", ": ", "'", '"', "&a ", "*a", "# c", "---",
  "ghcr.io/org/kit:1.0.0", "famiglia@sha256:" + "a".repeat(64), "oci:./x", "stable-*", ">=1.0.0 <2.0.0", "^1.2", "1.x || ~2", "x", "5", "~", "null",
);
const soup = fc.array(fragment, { maxLength: 60 }).map((parts) => parts.join(""));
/** As many entries of one shape as the budget allows, and then some. */
const big = fc
  .tuple(
    fc.constantFrom(
      (i: number) => `  - ghcr.io/org/kit-${i}:1.0.${i}\n`,
      (i: number) => `  - repository: ghcr.io/org/kit-${i}\n    tags: ["a*", "b"]\n    semver: ">=1.0.0 <2"\n`,
      (i: number) => `  - {repository: ghcr.io/org/k${i}, tagz: [x]}\n`,
    ),
    fc.integer({ min: Math.floor(MAX_MIRROR_LIST_TOKENS / 25), max: Math.floor(MAX_MIRROR_LIST_TOKENS / 3) }),
  )
  .map(([entry, n]) => "kits:\n" + Array.from({ length: n }, (_, i) => entry(i)).join(""));

describe("fuzzing mirror lists", () => {
  it(
    "any bytes give a list or located issues, within the time bound",
    () => {
      fc.assert(
        fc.property(fc.oneof({ weight: 4, arbitrary: soup }, { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) }, { weight: 1, arbitrary: big }), (text) => {
          const bytes = Buffer.from(text);
          const checked = bounded(() => checkMirrorList(bytes), never);
          if (!checked.ok) return;
          expect(checked.value.value === undefined).toBe(checked.value.issues.length > 0);
          bounded(() => parseMirrorList(bytes, "kits.yaml"), (err) => err instanceof InvalidContentError);
        }),
        fuzzParams(150),
      );
    },
    fuzzTimeout(),
  );

  it(
    "ranges and patterns of any text parse or throw an Error, and match in bounded time",
    () => {
      const version = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20), fc.option(fc.constantFrom("rc.1", "0", "alpha", "beta.2"), { nil: undefined })).map(
        ([a, b, c, pre]) => tagVersion(`${a}.${b}.${c}${pre === undefined ? "" : `-${pre}`}`)!,
      );
      const rangeText = fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(">=", "<", "^", "~", "1.2.3", "1.x", "*", " ", "||", " - ", "2", "0.0.1-rc.1"), { maxLength: 20 }).map((p) => p.join("")));
      const isError = (err: unknown) => err instanceof Error;
      fc.assert(
        fc.property(rangeText, fc.string({ maxLength: 40 }), fc.array(version, { maxLength: 20 }), (range, pattern, versions) => {
          const matcher = bounded(() => parseSemverRange(range), isError);
          if (matcher.ok) for (const v of versions) bounded(() => matcher.value(v));
          const glob = bounded(() => parseTagGlob(pattern), isError);
          if (glob.ok) bounded(() => glob.value("x".repeat(128)));
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeout(),
  );
});
