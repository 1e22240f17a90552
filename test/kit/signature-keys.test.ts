/**
 * Signing keys (src/kit/signature/keys.ts, cosign-key.ts): kit's own key pairs (encrypted PKCS#8, mode 0600,
 * never overwritten), fingerprints, and cosign's encrypted key files — written here by a test helper from the
 * published format, with cosign's own scrypt parameters — decrypted with Node's scrypt and @noble/ciphers.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  fingerprintOfHint,
  generateKeyPair,
  keyFingerprint,
  keyHint,
  parseSigningKey,
  parseVerifyingKey,
  readSigningKey,
  writeKeyPair,
} from "../../src/kit/signature/keys.js";
import { signData, verifyData } from "../../src/kit/signature/keys.js";
import { cosignKeyFile } from "../support/cosign-key.js";

const PASSPHRASE = "correct horse battery staple";
const never = async (): Promise<string> => {
  throw new Error("the passphrase was asked for");
};

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error("expected a rejection");
}

describe("kit key pairs", () => {
  it("writes PREFIX.key (encrypted PKCS#8, mode 0600) and PREFIX.pub (SPKI), and refuses to overwrite them without force", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kit-keys-"));
    const prefix = path.join(dir, "signing");
    const written = await writeKeyPair(prefix, PASSPHRASE);
    expect(written).toEqual({ privateKeyFile: `${prefix}.key`, publicKeyFile: `${prefix}.pub`, fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
    const privatePem = await readFile(`${prefix}.key`, "utf8");
    expect(privatePem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(await readFile(`${prefix}.pub`, "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);

    const key = await readSigningKey(`${prefix}.key`, async () => PASSPHRASE);
    expect(key.fingerprint).toBe(written.fingerprint);
    expect(parseVerifyingKey(await readFile(`${prefix}.pub`, "utf8"), "pub").fingerprint).toBe(written.fingerprint);

    const again = await rejection(writeKeyPair(prefix, PASSPHRASE));
    expect(again.code).toBe("EXISTS");
    expect(await readFile(`${prefix}.key`, "utf8")).toBe(privatePem);
    const replaced = await writeKeyPair(prefix, PASSPHRASE, { force: true });
    expect(replaced.fingerprint).not.toBe(written.fingerprint);
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
  });

  it("refuses a wrong passphrase without quoting it, and an empty one for a new key", async () => {
    const pair = generateKeyPair(PASSPHRASE);
    const err = await rejection(parseSigningKey(pair.privateKeyPem, async () => "not the passphrase", "my.key"));
    expect(err.code).toBe("UNAUTHORIZED");
    expect(err.message).toBe("cannot decrypt my.key: wrong passphrase (or a damaged key file)");
    expect(() => generateKeyPair("")).toThrow(/passphrase that is not empty/);
  });

  it("names a key by the SHA-256 of its SubjectPublicKeyInfo; the bundle hint is the base64 of the same bytes", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const hex = createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
    const fingerprint = keyFingerprint(publicKey);
    expect(fingerprint).toBe(`sha256:${hex}`);
    const hint = keyHint({ publicKey, fingerprint });
    expect(hint).toBe(Buffer.from(hex, "hex").toString("base64"));
    expect(fingerprintOfHint(hint)).toBe(fingerprint);
    expect(fingerprintOfHint("not a hint")).toBeUndefined();
  });

  it("asks for no passphrase for an unencrypted PKCS#8 key, and signs ECDSA-SHA256 in DER", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const key = await parseSigningKey(privateKey.export({ type: "pkcs8", format: "pem" }) as string, never, "plain.key");
    const signature = signData(key, Buffer.from("payload"));
    expect(signature[0]).toBe(0x30); // an ASN.1 SEQUENCE
    expect(verifyData(key, Buffer.from("payload"), signature)).toBe(true);
    expect(verifyData(key, Buffer.from("payloaD"), signature)).toBe(false);
    expect(verifyData(key, Buffer.from("payload"), Buffer.from("garbage"))).toBe(false);
  });

  it("refuses keys that are not P-256, public keys for signing, private keys for verifying, and non-PEM files", async () => {
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    expect((await rejection(parseSigningKey(p384.privateKey.export({ type: "pkcs8", format: "pem" }) as string, never, "k"))).message).toMatch(/is an EC secp384r1 key; kit signs and verifies with ECDSA P-256 keys/);
    expect(() => parseVerifyingKey(rsa.publicKey.export({ type: "spki", format: "pem" }) as string, "r.pub")).toThrow(/is a rsa key/);
    const pair = generateKeyPair(PASSPHRASE);
    expect((await rejection(parseSigningKey(pair.publicKeyPem, never, "k.pub"))).code).toBe("USAGE");
    expect(() => parseVerifyingKey(pair.privateKeyPem, "k.key")).toThrow(/not a public key/);
    expect(() => parseVerifyingKey("hello", "x")).toThrow(/is not a PEM key file/);
  });

  it("reads a missing key file as not found and a huge one as over the limit", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kit-keys-"));
    expect((await rejection(readSigningKey(path.join(dir, "none.key"), never))).code).toBe("NOT_FOUND");
    await writeFile(path.join(dir, "big.key"), "x".repeat(100_000));
    expect((await rejection(readSigningKey(path.join(dir, "big.key"), never))).code).toBe("SIZE_LIMIT");
  });
});

describe("cosign key files", () => {
  it.each(["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"] as const)("decrypts a %s file with cosign's scrypt parameters (N=32768, r=8, p=1)", async (label) => {
    const file = cosignKeyFile(PASSPHRASE, { label });
    const key = await parseSigningKey(file.pem, async () => PASSPHRASE, "cosign.key");
    expect(key.fingerprint).toBe(keyFingerprint(file.publicKey));
    expect(parseVerifyingKey(file.publicKeyPem, "cosign.pub").fingerprint).toBe(key.fingerprint);
  });

  it("refuses a wrong passphrase as unauthorized", async () => {
    const err = await rejection(parseSigningKey(cosignKeyFile(PASSPHRASE, { N: 1024 }).pem, async () => "s3cret-guess", "cosign.key"));
    expect(err.code).toBe("UNAUTHORIZED");
    expect(err.message).not.toContain("s3cret-guess");
  });

  it("refuses broken and hostile envelopes before deriving anything", async () => {
    const file = (mutate: (e: Record<string, any>) => void) => cosignKeyFile(PASSPHRASE, { N: 1024, mutate }).pem;
    const ask = async () => PASSPHRASE;
    expect((await rejection(parseSigningKey(file((e) => (e.kdf.name = "pbkdf2")), ask, "k"))).code).toBe("UNSUPPORTED");
    expect((await rejection(parseSigningKey(file((e) => (e.cipher.name = "aes-gcm")), ask, "k"))).code).toBe("UNSUPPORTED");
    expect((await rejection(parseSigningKey(file((e) => (e.cipher.nonce = Buffer.alloc(12).toString("base64"))), ask, "k"))).message).toMatch(/nonce is 12 bytes, not 24/);
    expect((await rejection(parseSigningKey(file((e) => (e.kdf.params.N = 1000)), ask, "k"))).message).toMatch(/not a power of two/);
    // 2^24 · 8 · 128 bytes = 16 GiB of memory: refused at once, not attempted.
    const started = Date.now();
    expect((await rejection(parseSigningKey(file((e) => (e.kdf.params.N = 2 ** 24)), ask, "k"))).code).toBe("SIZE_LIMIT");
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await rejection(parseSigningKey(file((e) => (e.ciphertext = "!!")), ask, "k"))).message).toMatch(/ciphertext is not base64/);
  });
});
