/**
 * Fuzzing reference parsing (src/oras/reference.ts, src/kit/reference.ts,
 * mirror locations in src/oras/mirror-location.ts):
 * any text parses or fails with one of our typed errors, quickly; what parses
 * formats back to its normalised spelling and parses to the same value.
 */
import { describe, expect, it } from "vitest";
import { formatKitReference, parseKitReference, parseShortKitReference } from "../../src/kit/reference.js";
import {
  formatReference,
  isLoopbackRegistry,
  namesRegistryHost,
  parseLayoutReference,
  parseReference,
  parseRegistryHost,
  parseTargetReference,
} from "../../src/oras/reference.js";
import { MAX_REFERENCE_LENGTH } from "../../src/oras/limits.js";
import { formatMirrorLocation, parseMirrorLocation } from "../../src/oras/mirror-location.js";
import { bounded, fc, fuzzParams, fuzzTimeout, stringOf } from "../support/fuzz.js";

const HEX = "0123456789abcdef";
const digestArb = fc.oneof(
  fc.string({ unit: fc.constantFrom(...HEX), minLength: 64, maxLength: 64 }).map((h) => `sha256:${h}`),
  fc.string({ unit: fc.constantFrom(...HEX), minLength: 128, maxLength: 128 }).map((h) => `sha512:${h}`),
);
/** Text close to the grammar: its separators, both cases, digits, and now and then anything. */
const referenceText = fc.oneof(
  stringOf("abcXYZ019.-_:/@[]oci", 60),
  fc.tuple(stringOf("ab.-_:/", 30), digestArb).map(([a, d]) => `${a}@${d}`),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.constantFrom("oci:", "oci://", "@", ":", "/", "[::1]", "localhost", "docker.io/", "http://x/y"),
  // Long runs of one piece: the shape that makes a backtracking pattern slow.
  fc
    .tuple(stringOf("a.-_:/@[", 4), fc.integer({ min: 100, max: 20_000 }), stringOf("a!:@", 2))
    .map(([piece, n, end]) => piece.repeat(n).slice(0, 60_000) + end),
);

describe("fuzzing references", () => {
  it(
    "every parser returns or throws a typed error, within the time bound",
    () => {
      fc.assert(
        fc.property(referenceText, (text) => {
          for (const parse of [parseLayoutReference, parseTargetReference]) bounded(() => parse(text));
          // Registry references come from files (kit.yaml's image): their errors quote a bounded part of the input.
          for (const parse of [parseReference, parseRegistryHost, parseKitReference, parseShortKitReference, parseMirrorLocation]) {
            const out = bounded(() => parse(text));
            if (!out.ok && !text.startsWith("oci:")) expect((out.error as Error).message.length).toBeLessThan(3 * MAX_REFERENCE_LENGTH);
          }
          bounded(() => namesRegistryHost(text), () => false);
          bounded(() => isLoopbackRegistry(text), () => false);
        }),
        fuzzParams(2000),
      );
    },
    fuzzTimeout(),
  );

  it(
    "a parsed reference formats to text that parses to the same reference",
    () => {
      fc.assert(
        fc.property(referenceText, (text) => {
          for (const [parse, format] of [
            [parseReference, formatReference],
            [parseTargetReference, formatReference],
            [parseKitReference, formatKitReference],
            [parseMirrorLocation, formatMirrorLocation],
          ] as const) {
            const first = bounded(() => parse(text));
            if (!first.ok) continue;
            const formatted = format(first.value as never);
            expect(parse(formatted)).toEqual(first.value);
            expect(format(parse(formatted) as never)).toBe(formatted);
          }
        }),
        fuzzParams(2000),
      );
    },
    fuzzTimeout(),
  );

  // Valid references built from the grammar, with the spelling the parser must normalise them to.
  const component = fc.stringMatching(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/, { maxLength: 20 });
  const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/);
  const host = fc.oneof(
    fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom("io", "com", "Example")).map(([ls, tld]) => [...ls, tld].join(".")),
    fc.constantFrom("localhost", "[::1]", "127.0.0.1", "docker.io", "index.docker.io", "registry-1.docker.io"),
  );
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
  const tag = fc.option(fc.stringMatching(/^\w[\w.-]{0,127}$/), { nil: undefined });
  const digest = fc.option(digestArb, { nil: undefined });

  it(
    "a reference built from the grammar formats to its normalised spelling",
    () => {
      fc.assert(
        fc.property(fc.option(host, { nil: undefined }), port, fc.array(component, { minLength: 1, maxLength: 4 }), tag, digest, (h, p, path, t, d) => {
          const hostPart = h === undefined ? undefined : p === undefined ? h : `${h}:${p}`;
          const name = `${hostPart === undefined ? "" : `${hostPart}/`}${path.join("/")}`;
          fc.pre(name.length <= 255);
          // Without a host, a first component with a dot would itself be read as the host (as docker reads it).
          fc.pre(h !== undefined || path.length === 1 || !path[0]!.includes("."));
          const text = `${name}${t === undefined ? "" : `:${t}`}${d === undefined ? "" : `@${d}`}`;
          const hub = h === undefined || (p === undefined && ["docker.io", "index.docker.io", "registry-1.docker.io"].includes(h.toLowerCase()));
          const registry = hub ? "docker.io" : p === undefined ? h!.toLowerCase() : `${h!.toLowerCase()}:${p}`;
          const repository = hub && path.length === 1 ? `library/${path[0]}` : path.join("/");
          const expected = `${registry}/${repository}${t === undefined ? "" : `:${t}`}${d === undefined ? "" : `@${d}`}`;
          expect(formatReference(parseReference(text))).toBe(expected);
        }),
        fuzzParams(1000),
      );
    },
    fuzzTimeout(),
  );
});
