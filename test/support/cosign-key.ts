/**
 * Writes a private key the way `cosign generate-key-pair` does, from its published format (sigstore's
 * `encrypted` package): a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign: `ENCRYPTED COSIGN PRIVATE
 * KEY`) whose body is JSON {"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":
 * "nacl/secretbox","nonce"},"ciphertext"}, every byte string in standard base64 (Go's []byte), the ciphertext
 * being the PKCS#8 DER key sealed by NaCl secretbox under scrypt(passphrase, salt, N, r, p, 32 bytes).
 */
import { generateKeyPairSync, randomBytes, scryptSync, type KeyObject } from "node:crypto";
import { secretbox } from "@noble/ciphers/salsa.js";

export interface CosignKeyOptions {
  label?: "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY";
  /** cosign's own parameters by default. */
  N?: number;
  r?: number;
  p?: number;
  /** Change the envelope before it is encoded (to make broken files). */
  mutate?: (envelope: Record<string, any>) => void;
}

/** A new P-256 key pair, the private key as a cosign key file (PEM text), the public key as cosign.pub would hold it. */
export function cosignKeyFile(passphrase: string, opts: CosignKeyOptions = {}): { pem: string; publicKeyPem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const der = privateKey.export({ type: "pkcs8", format: "der" });
  const N = opts.N ?? 32768;
  const r = opts.r ?? 8;
  const p = opts.p ?? 1;
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = scryptSync(Buffer.from(passphrase), salt, 32, { N, r, p, maxmem: 256 * 1024 * 1024 });
  const ciphertext = Buffer.from(secretbox(key, nonce).seal(der));
  const envelope: Record<string, any> = {
    kdf: { name: "scrypt", params: { N, r, p }, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: ciphertext.toString("base64"),
  };
  opts.mutate?.(envelope);
  const body = Buffer.from(JSON.stringify(envelope)).toString("base64").replace(/(.{64})/g, "$1\n");
  const label = opts.label ?? "ENCRYPTED SIGSTORE PRIVATE KEY";
  return {
    pem: `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
    publicKey,
  };
}
