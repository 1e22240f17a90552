/** Digests: `algorithm:hex`, validated strictly; sha256 is required, sha512 accepted. */
import { createHash, type Hash } from "node:crypto";
import { InvalidReferenceError, UnsupportedError } from "./errors.js";

export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_SYNTAX = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parse and validate a digest string; throws InvalidReferenceError naming what is wrong. */
export function parseDigest(digest: string): ParsedDigest {
  if (!DIGEST_SYNTAX.test(digest)) {
    throw new InvalidReferenceError(`invalid digest "${digest}": expected ALGORITHM:HEX such as sha256:<64 hex digits>`);
  }
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new UnsupportedError(`unsupported digest algorithm "${algorithm}" in "${digest}": only sha256 and sha512 are supported`);
  }
  const want = HEX_LENGTH[algorithm];
  if (hex.length !== want || !/^[0-9a-f]+$/.test(hex)) {
    throw new InvalidReferenceError(
      `invalid ${algorithm} digest "${digest}": expected ${want} lowercase hex digits, got ${hex.length} characters`,
    );
  }
  return { algorithm, hex };
}

// The language parseDigest accepts, without building an error for every non-digest (a hot path for tags).
const SUPPORTED_DIGEST = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** True when parseDigest would accept `text`; cheap enough to call on every tag and resolve. */
export function isDigest(text: string): boolean {
  return SUPPORTED_DIGEST.test(text);
}

export function createDigester(algorithm: DigestAlgorithm = "sha256"): Hash {
  return createHash(algorithm);
}

/** Digest of bytes already in memory (manifests, configs: small by construction). */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
