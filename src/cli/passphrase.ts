/**
 * Where a key's passphrase comes from, never the command line: standard input
 * with --passphrase-stdin, else $KIT_KEY_PASSWORD, else asked on the terminal
 * (not echoed). The passphrase is never printed or put in a message.
 */
import { UsageError } from "../oras/errors.js";
import type { PassphraseSource } from "../kit/signature/keys.js";
import { askOnTerminal, canPrompt, readSecretFromStdin } from "./prompt.js";

export const KEY_PASSWORD_ENV = "KIT_KEY_PASSWORD";

export interface PassphraseFlags {
  passphraseStdin?: boolean;
}

const HINT = `set ${KEY_PASSWORD_ENV}, or pipe it with --passphrase-stdin`;

/** The passphrase of the key in `file`, asked for once and only if the key turns out to be encrypted. */
export function passphraseFor(file: string, flags: PassphraseFlags): PassphraseSource {
  let answer: Promise<string> | undefined;
  return () => (answer ??= given(flags) ?? ask(`Passphrase for ${file}: `, `kit needs the passphrase of ${file}`));
}

/** The passphrase for a new key: on a terminal typed twice, and the two must match. */
export async function newPassphrase(flags: PassphraseFlags): Promise<string> {
  const known = given(flags);
  if (known !== undefined) return known;
  const first = await ask("Passphrase for the new private key: ", "a new private key needs a passphrase");
  const again = await askOnTerminal("Repeat it: ", "passphrase", { echo: false });
  if (first !== again) throw new UsageError("the two passphrases differ");
  return first;
}

function given(flags: PassphraseFlags): Promise<string> | undefined {
  if (flags.passphraseStdin) return readSecretFromStdin("passphrase");
  const env = process.env[KEY_PASSWORD_ENV];
  return env !== undefined ? Promise.resolve(env) : undefined;
}

function ask(prompt: string, need: string): Promise<string> {
  if (!canPrompt()) return Promise.reject(new UsageError(`${need}: standard input is not a terminal to ask on`, { hint: HINT }));
  return askOnTerminal(prompt, "passphrase", { echo: false });
}
