import { writeKeyPair } from "../../kit/signature/keys.js";
import { printJson, printLine } from "../output.js";
import { newPassphrase, type PassphraseFlags } from "../passphrase.js";

interface KeyGenerateFlags extends PassphraseFlags {
  output?: string;
  force?: boolean;
  json?: boolean;
}

/** `kit key generate`: PREFIX.key (encrypted, 0600) and PREFIX.pub. */
export async function run(flags: KeyGenerateFlags): Promise<void> {
  const passphrase = await newPassphrase(flags);
  const written = await writeKeyPair(flags.output ?? "kit", passphrase, { force: flags.force ?? false });
  if (flags.json) {
    printJson({ privateKey: written.privateKeyFile, publicKey: written.publicKeyFile, fingerprint: written.fingerprint });
    return;
  }
  printLine(`wrote ${written.privateKeyFile} (the private key, encrypted: keep it secret) and ${written.publicKeyFile} (the public key, to verify with)`);
  printLine(`key ${written.fingerprint}`);
}
