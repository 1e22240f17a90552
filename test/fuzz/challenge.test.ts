/**
 * Fuzzing `WWW-Authenticate` parsing (src/oras/remote/auth/challenge.ts): any
 * header value parses (malformed parts skipped) or, past the length limit,
 * fails with a SizeLimitError, quickly; challenges written by the RFC's
 * grammar parse back to what was written.
 */
import { describe, expect, it } from "vitest";
import { SizeLimitError } from "../../src/oras/errors.js";
import { MAX_WWW_AUTHENTICATE_BYTES } from "../../src/oras/limits.js";
import { parseChallenges, preferredChallenge, type Challenge } from "../../src/oras/remote/auth/challenge.js";
import { bounded, fc, fuzzParams, fuzzTimeout, stringOf } from "../support/fuzz.js";

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
const token68 = fc
  .tuple(fc.string({ unit: fc.constantFrom(..."ABCxyz0189-._~+/"), minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 2 }))
  .map(([t, pad]) => t + "=".repeat(pad));

const headerText = fc.oneof(
  stringOf(' \t,="\\=BearerBasicrealm:/', 120),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.tuple(fc.constantFrom('"', '\\', ',', '=', 'a=', 'Bearer ', 'realm="'), fc.integer({ min: 1, max: 2000 })).map(([p, n]) => p.repeat(n)),
);

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

describe("fuzzing WWW-Authenticate", () => {
  it(
    "any header parses, or fails as too long, within the time bound",
    () => {
      fc.assert(
        fc.property(fc.oneof(headerText, fc.array(headerText, { maxLength: 4 })), (value) => {
          const out = bounded(() => parseChallenges(value), (err) => err instanceof SizeLimitError);
          const length = typeof value === "string" ? value.length : value.reduce((n, v) => n + v.length, 0);
          expect(out.ok).toBe(length <= MAX_WWW_AUTHENTICATE_BYTES);
          if (out.ok) bounded(() => preferredChallenge(out.value), () => false);
        }),
        fuzzParams(2000),
      );
    },
    fuzzTimeout(),
  );

  const challenge: fc.Arbitrary<Challenge> = fc.oneof(
    fc.record({ scheme: token, params: fc.constant({}), token68 }).map(({ scheme, params, token68: t }) => ({ scheme, params, token68: t })),
    fc.record({
      scheme: token,
      params: fc.uniqueArray(fc.tuple(token, fc.string({ unit: "binary", maxLength: 40 })), { maxLength: 5, selector: ([k]) => k.toLowerCase() }),
    }).map(({ scheme, params }) => ({ scheme, params: Object.fromEntries(params) })),
  );

  it(
    "challenges written by the grammar (quoted values with commas, quotes, escapes) parse back",
    () => {
      fc.assert(
        fc.property(fc.array(challenge, { minLength: 1, maxLength: 4 }), fc.constantFrom(", ", ",", " ,\t"), (challenges, comma) => {
          const header = challenges
            .map((c) => (c.token68 !== undefined ? `${c.scheme} ${c.token68}` : [c.scheme, Object.entries(c.params).map(([k, v]) => `${k}=${quote(v)}`).join(comma)].join(" ").trim()))
            .join(comma);
          fc.pre(header.length <= MAX_WWW_AUTHENTICATE_BYTES);
          const expected = challenges.map((c) => ({
            scheme: c.scheme.toLowerCase(),
            params: Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k.toLowerCase(), v])),
            ...(c.token68 !== undefined ? { token68: c.token68 } : {}),
          }));
          expect(parseChallenges(header)).toEqual(expected);
        }),
        fuzzParams(1000),
      );
    },
    fuzzTimeout(),
  );
});
