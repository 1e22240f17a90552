/**
 * Runs the built CLI on a real pseudo-terminal, as a person at a terminal
 * would: util-linux `script` (Debian's bsdutils, an essential package, so
 * on every Debian system and in CI) allocates it. stdout and stderr both go
 * to the terminal, so `output` is what the screen was sent, escapes and all,
 * with the terminal's CR LF line ends.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { KIT_BIN } from "./cli.js";

export const SCRIPT_BINARY = "/usr/bin/script";

export interface TerminalResult {
  code: number;
  output: string;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface TerminalOptions {
  env?: NodeJS.ProcessEnv;
  /** The terminal's size, default 120 x 40, set with stty first: script's terminal starts at 0 x 0. */
  columns?: number;
  rows?: number;
  timeoutMs?: number;
  /** Send kit SIGINT (as Ctrl-C does) once the output so far satisfies this. */
  interruptWhen?: (output: string) => boolean;
}

export function runKitInTerminal(args: string[], opts: TerminalOptions = {}): Promise<TerminalResult> {
  // The shell writes its pid, which exec hands on to kit, so an interrupt reaches kit itself.
  const pidFile = path.join(mkdtempSync(path.join(tmpdir(), "kit-tty-")), "pid");
  const command = [
    `stty cols ${opts.columns ?? 120} rows ${opts.rows ?? 40}`,
    `echo $$ > ${shellQuote(pidFile)}`,
    `exec ${[process.execPath, KIT_BIN, ...args].map(shellQuote).join(" ")}`,
  ].join("; ");
  let interrupted = false;
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT_BINARY, ["-q", "-e", "-c", command, "/dev/null"], {
      env: { ...process.env, KIT_DEBUG: "", TERM: "xterm", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let errors = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      output += d;
      if (opts.interruptWhen && !interrupted && opts.interruptWhen(output)) {
        interrupted = true;
        process.kill(Number(readFileSync(pidFile, "utf8")), "SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (errors += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      // script's own complaints (no pty, bad option) are on its stderr; the program's output never is.
      if (errors !== "") reject(new Error(`script: ${errors}`));
      else resolve({ code: code ?? -1, output });
    });
  });
}

/** Every control sequence (CSI, OSC) and CR removed: the text a reader would have seen written, frame after frame. */
export function plainText(output: string): string {
  return output
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "")
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, "")
    .replace(/\r/g, "");
}
