/**
 * Fuzzing the signature parsers (src/kit/signature): simple-signing payloads, Sigstore bundles (mutations of a
 * real one and arbitrary JSON), PEM key files and cosign key envelopes all give a result or a typed error, within
 * the time bound; a bundle that still verifies after a mutation still claims what was signed.
 */
import { describe, expect, it } from "vitest";
import { buildSignatureBundle, readSignatureBundle, signatureStatement } from "../../src/kit/signature/bundle.js";
import { generateKeyPair, parseSigningKey, parseVerifyingKey, type SigningKey } from "../../src/kit/signature/keys.js";
import { simpleSigningClaims, simpleSigningPayload } from "../../src/kit/signature/simple-signing.js";
import { cosignKeyFile } from "../support/cosign-key.js";
import { bounded, boundedAsync, fc, fuzzParams, fuzzTimeout } from "../support/fuzz.js";

const REPO = "registry.example/team/kit";
const DIGEST = `sha256:${"e".repeat(64)}`;

/** A JSON value with one path replaced by `value` (or removed when undefined). */
function mutate(doc: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  if (doc === null || typeof doc !== "object") return doc;
  const copy: Record<string, unknown> = Array.isArray(doc) ? ([...doc] as unknown as Record<string, unknown>) : { ...(doc as Record<string, unknown>) };
  const [head, ...rest] = path;
  const next = mutate(copy[head!], rest, value);
  if (next === undefined) delete copy[head!];
  else copy[head!] = next;
  return copy;
}

const paths = fc.constantFrom(
  ["mediaType"],
  ["verificationMaterial"],
  ["verificationMaterial", "publicKey", "hint"],
  ["verificationMaterial", "tlogEntries"],
  ["dsseEnvelope", "payload"],
  ["dsseEnvelope", "payloadType"],
  ["dsseEnvelope", "signatures"],
  ["dsseEnvelope", "signatures", "0", "sig"],
  ["messageSignature"],
);

describe("fuzzing signature parsers", () => {
  it(
    "any simple-signing payload gives claims or a typed error",
    () => {
      const valid = simpleSigningPayload(REPO, DIGEST);
      const payloads = fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.json({ maxDepth: 4 }).map((t) => Buffer.from(t)),
        fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
          const b = Buffer.from(valid);
          b[at] = b[at]! ^ x;
          return b;
        }),
      );
      fc.assert(fc.property(payloads, (bytes) => void bounded(() => simpleSigningClaims(bytes))), fuzzParams(300));
    },
    fuzzTimeout(),
  );

  it(
    "any bundle gives a typed error or one whose verify() and claims() behave",
    async () => {
      const key: SigningKey = await parseSigningKey(generateKeyPair("p").privateKeyPem, async () => "p", "k");
      const bundle = JSON.parse((await buildSignatureBundle(key, signatureStatement(REPO, DIGEST))).toString());
      const docs = fc.oneof(
        { weight: 3, arbitrary: fc.tuple(paths, fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined))).map(([p, v]) => mutate(bundle, p, v)) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
      );
      fc.assert(
        fc.property(docs, (doc) => {
          const read = bounded(() => readSignatureBundle(Buffer.from(JSON.stringify(doc) ?? "null"), "bundle"));
          if (!read.ok) return;
          const verified = bounded(() => read.value.verify(key), () => false);
          const claims = bounded(() => read.value.claims());
          if (verified.ok && verified.value && claims.ok) expect(claims.value.subjects.map((s) => s.digest)).toContain(DIGEST);
        }),
        fuzzParams(200),
      );
    },
    fuzzTimeout(),
  );

  it(
    "any PEM text gives a key or a typed error; so does any cosign envelope",
    async () => {
      const pair = generateKeyPair("p");
      const texts = fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.tuple(fc.constantFrom(pair.privateKeyPem, pair.publicKeyPem), fc.nat(400), fc.string({ maxLength: 3 })).map(([t, at, s]) => t.slice(0, at % t.length) + s + t.slice((at % t.length) + 1)),
        fc.constantFrom("PUBLIC KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED SIGSTORE PRIVATE KEY").chain((label) =>
          fc.base64String({ maxLength: 120 }).map((b) => `-----BEGIN ${label}-----\n${b}\n-----END ${label}-----\n`),
        ),
      );
      await fc.assert(
        fc.asyncProperty(texts, async (text) => {
          bounded(() => parseVerifyingKey(text, "k"));
          await boundedAsync(() => parseSigningKey(text, async () => "p", "k"));
        }),
        fuzzParams(200),
      );
      const envelopes = fc.tuple(
        fc.constantFrom(["kdf", "name"], ["kdf", "params", "N"], ["kdf", "params", "r"], ["kdf", "params", "p"], ["kdf", "salt"], ["cipher", "nonce"], ["ciphertext"], ["kdf"]),
        fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.integer({ min: -2, max: 16 }), fc.base64String({ maxLength: 40 })),
      );
      await fc.assert(
        fc.asyncProperty(envelopes, async ([path, value]) => {
          const file = cosignKeyFile("p", { N: 16, r: 1, p: 1, mutate: (e) => void Object.assign(e, mutate(e, path, value)) });
          await boundedAsync(() => parseSigningKey(file.pem, async () => "p", "cosign.key"));
        }),
        fuzzParams(60),
      );
    },
    fuzzTimeout(),
  );
});
