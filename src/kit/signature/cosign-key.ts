/**
 * cosign's encrypted private key files (`cosign generate-key-pair`): a PEM
 * block `ENCRYPTED SIGSTORE PRIVATE KEY` (`ENCRYPTED COSIGN PRIVATE KEY` from
 * cosign before 2.x) whose body is JSON — an scrypt key derivation (N, r, p,
 * salt) and a NaCl secretbox (XSalsa20-Poly1305, 24-byte nonce) sealing the
 * PKCS#8 DER private key. scrypt is Node's; secretbox is @noble/ciphers'
 * audited implementation: no cipher is written here.
 */
import { scrypt } from "node:crypto";
import { secretbox } from "@noble/ciphers/salsa.js";
import { InvalidContentError, isJsonObject, SizeLimitError, UnauthorizedError, UnsupportedError } from "../../oras/content.js";
import { MAX_SCRYPT_MEMORY_BYTES, MAX_SCRYPT_PARALLELISM } from "../limits.js";

/** PEM labels of cosign's encrypted keys, newest first. */
export const COSIGN_KEY_LABELS = ["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"] as const;

const KEY_BYTES = 32;
const NONCE_BYTES = 24;
/** Poly1305's tag, which secretbox puts before the ciphertext. */
const TAG_BYTES = 16;

interface Envelope {
  salt: Buffer;
  N: number;
  r: number;
  p: number;
  nonce: Buffer;
  ciphertext: Buffer;
}

/**
 * The PKCS#8 DER key inside a cosign key file's decoded PEM body. A wrong
 * passphrase (or a damaged file: the two cannot be told apart) is an
 * UnauthorizedError; the passphrase is never part of a message.
 */
export async function decryptCosignKey(body: Uint8Array, passphrase: string, what: string): Promise<Buffer> {
  const envelope = parseEnvelope(body, what);
  const key = await deriveKey(passphrase, envelope);
  try {
    return Buffer.from(secretbox(key, envelope.nonce).open(envelope.ciphertext));
  } catch {
    throw new UnauthorizedError(`cannot decrypt ${what}: wrong passphrase (or a damaged key file)`, {
      hint: "the passphrase comes from KIT_KEY_PASSWORD, --passphrase-stdin or the terminal",
    });
  } finally {
    key.fill(0);
  }
}

function deriveKey(passphrase: string, e: Envelope): Promise<Buffer> {
  // Node refuses when 128·N·r exceeds maxmem; the limit was checked against the same figure.
  const maxmem = 128 * e.N * e.r + 128 * e.r * e.p + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(Buffer.from(passphrase, "utf8"), e.salt, KEY_BYTES, { N: e.N, r: e.r, p: e.p, maxmem }, (err, derived) => (err ? reject(err) : resolve(derived))),
  );
}

function parseEnvelope(body: Uint8Array, what: string): Envelope {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    throw new InvalidContentError(`${what} is not a cosign key: its PEM body is not JSON`);
  }
  const get = (value: unknown, path: string): Record<string, unknown> => {
    if (!isJsonObject(value)) throw new InvalidContentError(`${what}: "${path}" is missing or not an object`);
    return value;
  };
  const top = get(doc, "(the key)");
  const kdf = get(top.kdf, "kdf");
  const params = get(kdf.params, "kdf.params");
  const cipher = get(top.cipher, "cipher");
  if (kdf.name !== "scrypt") throw new UnsupportedError(`${what}: key derivation ${JSON.stringify(kdf.name)} is not supported (only scrypt)`);
  if (cipher.name !== "nacl/secretbox") throw new UnsupportedError(`${what}: cipher ${JSON.stringify(cipher.name)} is not supported (only nacl/secretbox)`);
  const int = (value: unknown, name: string): number => {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) throw new InvalidContentError(`${what}: kdf.params.${name} is not a positive integer`);
    return value;
  };
  const N = int(params.N, "N");
  const r = int(params.r, "r");
  const p = int(params.p, "p");
  if (N < 2 || (N & (N - 1)) !== 0) throw new InvalidContentError(`${what}: kdf.params.N is not a power of two`);
  // The file chooses how much memory and time deriving its key costs: bounded before any is spent.
  if (128 * N * r > MAX_SCRYPT_MEMORY_BYTES) throw new SizeLimitError(MAX_SCRYPT_MEMORY_BYTES, `the scrypt memory ${what} asks for (N=${N}, r=${r})`);
  if (p > MAX_SCRYPT_PARALLELISM) throw new SizeLimitError(MAX_SCRYPT_PARALLELISM, `the scrypt parallelism ${what} asks for (p=${p})`, { unit: "lanes" });
  const nonce = base64Field(cipher.nonce, "cipher.nonce", what);
  if (nonce.length !== NONCE_BYTES) throw new InvalidContentError(`${what}: cipher.nonce is ${nonce.length} bytes, not ${NONCE_BYTES}`);
  const ciphertext = base64Field(top.ciphertext, "ciphertext", what);
  if (ciphertext.length <= TAG_BYTES) throw new InvalidContentError(`${what}: the ciphertext is too short to hold a key`);
  return { salt: base64Field(kdf.salt, "kdf.salt", what), N, r, p, nonce, ciphertext };
}

/** Go's encoding/json writes []byte as standard base64, which is what cosign's fields are. */
function base64Field(value: unknown, name: string, what: string): Buffer {
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new InvalidContentError(`${what}: ${name} is not base64`);
  }
  return Buffer.from(value, "base64");
}
