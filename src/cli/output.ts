/**
 * Everything the CLI prints goes through here, so that the process can wait
 * for it to reach the reader and notice when it did not.
 *
 * Writes to a pipe are asynchronous in Node: what the reader has not taken yet
 * sits in the stream's queue, and process.exit() drops it. A write error (a
 * full disk, a closed pipe) is reported by an 'error' event a tick later, so
 * an exit right after the last write would hide it too. settleOutput() waits
 * for both streams to drain and returns the first stdout failure.
 */

import { redactPatterns } from "../oras/redact.js";
import { escapeControl } from "./terminal-text.js";

let stdoutFailure: Error | undefined;
let watching = false;

/**
 * Listen for stdout and stderr failures from now on. main() calls it first:
 * a write made synchronously (commander printing help) fails a tick later,
 * and from a CommonJS entry that tick can come before any later await.
 */
export function watchStdout(): void {
  if (watching) return;
  watching = true;
  // Without a listener an EPIPE/ENOSPC would be an uncaught exception; we report it at the end instead.
  process.stdout.on("error", (err: Error) => (stdoutFailure ??= err));
  process.stderr.on("error", () => {});
}

/** Something drawn in place at the bottom of the terminal (transfer progress), redrawn below what is printed. */
export interface LiveArea {
  clear(): void;
  redraw(): void;
}

let liveArea: LiveArea | undefined;

/** While set, lines printed to a terminal go above the area instead of through it. */
export function setLiveArea(area: LiveArea | undefined): void {
  liveArea = area;
}

function aboveLiveArea(stream: NodeJS.WriteStream, write: () => void): void {
  if (liveArea === undefined || !stream.isTTY) {
    write();
    return;
  }
  liveArea.clear();
  write();
  liveArea.redraw();
}

let jsonDocumentPrinted = false;

/** Whether a command printed its JSON document: a failure after that must not print a second one. */
export function printedJson(): boolean {
  return jsonDocumentPrinted;
}

export function printJson(value: unknown): void {
  jsonDocumentPrinted = true;
  writeStdout(JSON.stringify(value, null, 2) + "\n");
}

/** One line of human output; control characters in it are escaped. */
export function printLine(line: string): void {
  writeStdout(escapeControl(line) + "\n");
}

/**
 * One line on stderr; control characters in it are escaped, and anything that
 * looks like a credential is redacted (the last net under every error, hint,
 * stack and debug line: the library has already removed the secrets it knew).
 */
export function printError(line: string): void {
  watchStdout();
  const text = escapeControl(redactPatterns(line)) + "\n";
  aboveLiveArea(process.stderr, () => process.stderr.write(text));
}

/** `kit: warning: …` on stderr: something worked, but the user should know better. */
export function printWarning(message: string): void {
  printError(`kit: warning: ${message}`);
}

/** Raw bytes (or text) on stdout, exactly as given. */
export function writeStdout(data: string | Uint8Array): void {
  watchStdout();
  aboveLiveArea(process.stdout, () => process.stdout.write(data));
}

/** Wait until `stream` has handed everything queued to the OS; resolves with the write error, if any. */
function drained(stream: NodeJS.WriteStream): Promise<Error | undefined> {
  if (stream.destroyed) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    // Chunks are written in order, so this callback runs after every earlier write has completed or failed.
    stream.write("", (err) => resolve(err ?? undefined));
  });
}

/**
 * Flush stdout and stderr. Returns the error that kept output from reaching
 * stdout's reader (undefined when all of it arrived).
 */
export async function settleOutput(): Promise<Error | undefined> {
  watchStdout();
  const err = await drained(process.stdout);
  const failure = stdoutFailure ?? err;
  await drained(process.stderr);
  return failure;
}
