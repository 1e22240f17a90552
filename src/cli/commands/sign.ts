import { parseKitReference } from "../../kit/reference.js";
import { SIGNATURE_FORMS, type SignatureForm } from "../../kit/signature/format.js";
import { readSigningKey, type SigningKey } from "../../kit/signature/keys.js";
import { signKit, type SignResult } from "../../kit/signature/sign.js";
import { UsageError } from "../../oras/errors.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine, printWarning } from "../output.js";
import { passphraseFor, type PassphraseFlags } from "../passphrase.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

export interface SignFlags extends RemoteFlags, PassphraseFlags {
  key: string;
  format?: string;
  identity?: string;
  json?: boolean;
}

export async function run(ref: string, flags: SignFlags): Promise<void> {
  const parsed = parseKitReference(ref);
  const formats = signatureFormats(flags.format);
  const key = await signingKey(flags.key, flags);
  const { remote } = await registrySettings(flags);
  const result = await sayingExpandedNames([[ref, parsed]], () =>
    signKit(parsed, key, { formats, remote, ...(flags.identity !== undefined ? { identity: flags.identity } : {}) }),
  );
  for (const warning of result.warnings) printWarning(warning);
  if (flags.json) printJson(result);
  else printSigned(result);
}

/** `--format simplesigning|bundle|both`. */
export function signatureFormats(text: string | undefined): SignatureForm[] {
  if (text === undefined || text === "both") return [...SIGNATURE_FORMS];
  if ((SIGNATURE_FORMS as readonly string[]).includes(text)) return [text as SignatureForm];
  throw new UsageError(`--format "${text}" is not one of simplesigning, bundle, both`);
}

/** The key, read (and its passphrase asked) before anything is published, so a wrong passphrase costs nothing. */
export function signingKey(file: string, flags: PassphraseFlags): Promise<SigningKey> {
  return readSigningKey(file, passphraseFor(file, flags));
}

export function printSigned(result: SignResult): void {
  printLine(`signed ${result.reference} for ${result.identity} with key ${result.key}`);
  for (const s of result.signatures) {
    const form = s.manifestForm === "image-spec-1.0" ? ` (image-spec 1.0 form${s.listedBy === "referrers-index" ? ", listed in the referrers index only" : ""})` : "";
    const where = s.tag !== undefined ? `${s.tag} (${s.manifest})` : `referrer ${s.manifest}${form}`;
    printLine(`  ${s.form.padEnd(13)}  ${where}${s.added ? "" : ": already signed by this key"}`);
  }
}
