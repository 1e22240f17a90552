/**
 * The one place where errors become exit codes and messages (spec/cli.md).
 */
import { OciError, UsageError, type ErrorCode } from "../oras/errors.js";
import { redactPatterns } from "../oras/redact.js";

export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INVALID: 3,
  INTEGRITY: 4,
  NOT_FOUND: 5,
  AUTH: 6,
  UNTRUSTED: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const EXIT_BY_CODE: Record<ErrorCode, ExitCode> = {
  USAGE: ExitCode.USAGE,
  INVALID_REFERENCE: ExitCode.USAGE,
  INVALID_CONTENT: ExitCode.INVALID,
  UNSUPPORTED: ExitCode.INVALID,
  SIZE_LIMIT: ExitCode.INVALID,
  DIGEST_MISMATCH: ExitCode.INTEGRITY,
  SIZE_MISMATCH: ExitCode.INTEGRITY,
  NOT_FOUND: ExitCode.NOT_FOUND,
  UNAUTHORIZED: ExitCode.AUTH,
  DENIED: ExitCode.AUTH,
  EXISTS: ExitCode.FAILURE,
  NETWORK: ExitCode.FAILURE,
  REGISTRY: ExitCode.FAILURE,
  IO: ExitCode.FAILURE,
  UNTRUSTED: ExitCode.UNTRUSTED,
};

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof OciError) return EXIT_BY_CODE[err.code];
  return ExitCode.FAILURE;
}

export function debugEnabled(argv: readonly string[]): boolean {
  return argv.includes("--debug") || process.env.KIT_DEBUG === "1";
}

/** What `--json` prints on stdout when a command fails: a Go caller parses both outcomes from one stream. */
export interface ErrorDocument {
  error: {
    /** The stable OciError code, or UNEXPECTED for a failure that is not one of ours. */
    code: ErrorCode | "UNEXPECTED";
    exit: ExitCode;
    message: string;
    hint?: string;
  };
}

export function errorDocument(err: unknown): ErrorDocument {
  const doc: ErrorDocument = {
    error: {
      code: err instanceof OciError ? err.code : "UNEXPECTED",
      exit: exitCodeFor(err),
      // The same net as the stderr lines (printError): the document says what they say.
      message: redactPatterns(err instanceof Error ? err.message : String(err)),
    },
  };
  if (err instanceof OciError && err.hint !== undefined) doc.error.hint = redactPatterns(err.hint);
  return doc;
}

/**
 * commander's own usage errors in our form: its message without the "error: "
 * prefix, and its "(Did you mean …?)" line as the one hint, else a pointer to
 * the help of the command that was being parsed.
 */
export function usageErrorFrom(commanderMessage: string, command: string | undefined): UsageError {
  const lines = commanderMessage.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const message = (lines[0] ?? "invalid usage").replace(/^error: /, "");
  const suggestion = lines.slice(1).map((l) => /^\(Did you mean (.+)\?\)$/.exec(l)?.[1]).find((m) => m !== undefined);
  let hint: string;
  if (suggestion !== undefined) {
    // commander suggests a command name ("pull") or an option ("--force").
    hint = suggestion.startsWith("-") ? `did you mean ${suggestion}?` : `did you mean "kit ${suggestion}"?`;
  } else {
    hint = command === undefined ? 'run "kit help" for usage' : `run "kit ${command} --help" for usage`;
  }
  return new UsageError(message, { hint });
}

/** `kit: error: …` plus an optional hint line; a stack only when debugging. One string per output line. */
export function formatError(err: unknown, debug: boolean): string[] {
  const lines: string[] = [];
  const message = err instanceof Error ? err.message : String(err);
  lines.push(`kit: error: ${oneLine(message)}`);
  if (err instanceof OciError && err.hint) lines.push(`kit: hint: ${oneLine(err.hint)}`);
  if (debug && err instanceof Error && err.stack) lines.push(...err.stack.split("\n"));
  return lines;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, "; ");
}
