/**
 * Signing keys: ECDSA P-256 with SHA-256, the key cosign generates. A public
 * key is a PEM SubjectPublicKeyInfo (what `cosign.pub` is); a private key is
 * PKCS#8 PEM encrypted with a passphrase (what `kit key generate` writes), an
 * unencrypted PKCS#8 PEM, or a cosign key file (cosign-key.ts).
 *
 * A key is named by its fingerprint: `sha256:` + the hex SHA-256 of its DER
 * SubjectPublicKeyInfo. A Sigstore bundle's `publicKey.hint` is the base64 of
 * the same 32 bytes, as cosign writes it.
 *
 * Passphrases come from a PassphraseSource the caller provides (the CLI reads
 * KIT_KEY_PASSWORD, standard input or the terminal), asked only when a key is
 * encrypted, and never appear in a message.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { InvalidContentError, IoError, NotFoundError, OciError, readFileBounded, UnauthorizedError, UnsupportedError, UsageError, writeFilesAtomic } from "../../oras/content.js";
import { MAX_KEY_FILE_BYTES } from "../limits.js";
import { COSIGN_KEY_LABELS, decryptCosignKey } from "./cosign-key.js";

export interface VerifyingKey {
  publicKey: KeyObject;
  /** `sha256:` + hex SHA-256 of the DER SubjectPublicKeyInfo. */
  fingerprint: string;
}

export interface SigningKey extends VerifyingKey {
  privateKey: KeyObject;
}

/** Gives the passphrase of an encrypted key; called only when one is needed, at most once per key. */
export type PassphraseSource = () => Promise<string>;

/** Node's name for P-256. */
const P256 = "prime256v1";
const ENCRYPTED_PKCS8 = "ENCRYPTED PRIVATE KEY";
const PKCS8 = "PRIVATE KEY";
const SPKI = "PUBLIC KEY";

export function keyFingerprint(publicKey: KeyObject): string {
  return `sha256:${createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex")}`;
}

/** The Sigstore `publicKey.hint` of a key: base64 of its fingerprint's bytes (cosign's choice). */
export function keyHint(key: VerifyingKey): string {
  return Buffer.from(key.fingerprint.slice("sha256:".length), "hex").toString("base64");
}

/** The fingerprint a hint names, when it is one in cosign's form (32 bytes of base64); undefined otherwise. */
export function fingerprintOfHint(hint: string): string | undefined {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(hint)) return undefined;
  return `sha256:${Buffer.from(hint, "base64").toString("hex")}`;
}

/** A new P-256 key pair: the private key as encrypted PKCS#8 PEM, the public key as PEM SPKI. */
export function generateKeyPair(passphrase: string): { privateKeyPem: string; publicKeyPem: string; fingerprint: string } {
  if (passphrase === "") throw new UsageError("a new private key needs a passphrase that is not empty");
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: P256 });
  return {
    // PBES2 (PBKDF2-SHA256 + AES-256-CBC): openssl, Go's and Node's PKCS#8 readers all take it.
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase }) as string,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
    fingerprint: keyFingerprint(publicKey),
  };
}

export interface WrittenKeyPair {
  privateKeyFile: string;
  publicKeyFile: string;
  fingerprint: string;
}

/**
 * Write a new key pair as PREFIX.key (mode 0600) and PREFIX.pub, both or
 * neither; an existing file is refused unless `force`.
 */
export async function writeKeyPair(prefix: string, passphrase: string, opts: { force?: boolean } = {}): Promise<WrittenKeyPair> {
  const pair = generateKeyPair(passphrase);
  const privateKeyFile = `${prefix}.key`;
  const publicKeyFile = `${prefix}.pub`;
  await writeFilesAtomic(
    [
      [privateKeyFile, pair.privateKeyPem, 0o600],
      [publicKeyFile, pair.publicKeyPem, 0o644],
    ],
    { overwrite: opts.force ?? false, hint: "pass --force to replace it, or choose another -o PREFIX" },
  );
  return { privateKeyFile, publicKeyFile, fingerprint: pair.fingerprint };
}

/** The signing key in `file`; its passphrase is asked from `passphrase` only when it is encrypted. */
export async function readSigningKey(file: string, passphrase: PassphraseSource): Promise<SigningKey> {
  return parseSigningKey(await readKeyFile(file), passphrase, file);
}

export async function parseSigningKey(text: string, passphrase: PassphraseSource, what: string): Promise<SigningKey> {
  const block = pemBlock(text, what);
  let privateKey: KeyObject;
  if (block.label === SPKI) {
    throw new UsageError(`${what} is a public key; signing needs the private key`, { hint: "kit key generate writes PREFIX.key (private) and PREFIX.pub (public)" });
  } else if (block.label === PKCS8) {
    privateKey = keyObject(() => createPrivateKey({ key: block.der, format: "der", type: "pkcs8" }), what);
  } else if (block.label === ENCRYPTED_PKCS8) {
    const secret = await passphrase();
    try {
      privateKey = createPrivateKey({ key: block.der, format: "der", type: "pkcs8", passphrase: secret });
    } catch {
      throw new UnauthorizedError(`cannot decrypt ${what}: wrong passphrase (or a damaged key file)`, {
        hint: "the passphrase comes from KIT_KEY_PASSWORD, --passphrase-stdin or the terminal",
      });
    }
  } else if ((COSIGN_KEY_LABELS as readonly string[]).includes(block.label)) {
    const der = await decryptCosignKey(block.der, await passphrase(), what);
    privateKey = keyObject(() => createPrivateKey({ key: der, format: "der", type: "pkcs8" }), what);
    der.fill(0);
  } else {
    throw new UnsupportedError(`${what} holds a "${block.label}" PEM block, not a private key kit can use`, {
      hint: `kit signs with PKCS#8 ("${ENCRYPTED_PKCS8}", as kit key generate writes) or cosign key files ("${COSIGN_KEY_LABELS[0]}")`,
    });
  }
  const publicKey = createPublicKey(privateKey);
  checkP256(publicKey, what);
  return { privateKey, publicKey, fingerprint: keyFingerprint(publicKey) };
}

/** The public key in `file` (PEM SubjectPublicKeyInfo, as `cosign.pub`). */
export async function readVerifyingKey(file: string): Promise<VerifyingKey> {
  return parseVerifyingKey(await readKeyFile(file), file);
}

export function parseVerifyingKey(text: string, what: string): VerifyingKey {
  const block = pemBlock(text, what);
  if (block.label !== SPKI) {
    throw new UsageError(`${what} holds a "${block.label}" PEM block, not a public key`, { hint: 'verifying takes public keys ("PUBLIC KEY" PEM, such as PREFIX.pub or cosign.pub)' });
  }
  const publicKey = keyObject(() => createPublicKey({ key: block.der, format: "der", type: "spki" }), what);
  checkP256(publicKey, what);
  return { publicKey, fingerprint: keyFingerprint(publicKey) };
}

/** The ASN.1 DER ECDSA-SHA256 signature over `data` (what cosign puts in its signature annotation, base64). */
export function signData(key: SigningKey, data: Uint8Array): Buffer {
  return sign("sha256", data, key.privateKey);
}

/** Whether `signature` (ASN.1 DER) is `key`'s over `data`; false for anything that is not such a signature. */
export function verifyData(key: VerifyingKey, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify("sha256", data, key.publicKey, signature);
  } catch {
    return false;
  }
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return (await readFileBounded(file, MAX_KEY_FILE_BYTES, `key file ${file}`)).toString("utf8");
  } catch (err) {
    if (err instanceof OciError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`key file ${file} not found`, { cause: err });
    throw new IoError(`cannot read key file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** The first PEM block of `text`: its label and decoded body. */
function pemBlock(text: string, what: string): { label: string; der: Buffer } {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/.exec(text);
  if (match === null) throw new InvalidContentError(`${what} is not a PEM key file`, { hint: "a key file starts with a -----BEGIN … KEY----- line" });
  return { label: match[1]!, der: Buffer.from(match[2]!.replace(/\s+/g, ""), "base64") };
}

function keyObject(make: () => KeyObject, what: string): KeyObject {
  try {
    return make();
  } catch (err) {
    throw new InvalidContentError(`${what} does not hold a valid key`, { cause: err });
  }
}

function checkP256(publicKey: KeyObject, what: string): void {
  if (publicKey.asymmetricKeyType !== "ec" || publicKey.asymmetricKeyDetails?.namedCurve !== P256) {
    const kind = publicKey.asymmetricKeyType === "ec" ? `an EC ${publicKey.asymmetricKeyDetails?.namedCurve ?? "?"} key` : `a ${publicKey.asymmetricKeyType ?? "?"} key`;
    throw new UnsupportedError(`${what} is ${kind}; kit signs and verifies with ECDSA P-256 keys`);
  }
}
