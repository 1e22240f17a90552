/**
 * Questions asked on the terminal (kit login's user name and password, key
 * passphrases), as docker asks them: the prompt on stderr, so stdout stays
 * the command's output. And secrets piped on standard input.
 */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { UsageError } from "../oras/errors.js";

/** Whether standard input is a terminal someone can answer on. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true;
}

/**
 * One line typed on the terminal. With `echo: false` nothing typed is shown
 * (readline puts the terminal in raw mode, so the terminal does not echo
 * either). Ctrl-C interrupts the process as it would without the prompt;
 * Ctrl-D before Enter is a usage error saying `what` was not given.
 */
export function askOnTerminal(prompt: string, what: string, opts: { echo: boolean }): Promise<string> {
  const stderr = process.stderr;
  // Muted, readline still edits the line (backspace, Ctrl-U) but draws nothing.
  const output = opts.echo ? stderr : new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output, terminal: true, historySize: 0 });
  return new Promise((resolve, reject) => {
    let answered = false;
    const finish = () => {
      // Enter is not echoed either when muted; end the prompt's line ourselves.
      if (!opts.echo) stderr.write("\n");
    };
    rl.once("SIGINT", () => {
      answered = true;
      rl.close();
      finish();
      process.kill(process.pid, "SIGINT");
    });
    rl.once("close", () => {
      if (answered) return;
      finish();
      reject(new UsageError(`no ${what} given`));
    });
    if (!opts.echo) stderr.write(prompt);
    rl.question(opts.echo ? prompt : "", (line) => {
      answered = true;
      rl.close();
      finish();
      resolve(line);
    });
  });
}

/** The most a piped secret (`--password-stdin`, `--passphrase-stdin`) may be. */
export const MAX_SECRET_BYTES = 64 * 1024;

/**
 * A secret piped on standard input: all of it, with one trailing newline
 * (what `echo` adds) dropped; anything else belongs to the secret. `what`
 * names it in the error when it is too long.
 */
export async function readSecretFromStdin(what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_SECRET_BYTES) throw new UsageError(`the ${what} on standard input is too long`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}
