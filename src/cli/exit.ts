/**
 * The one place where errors become exit codes and messages (spec/cli.md).
 */
import { OciError, type ErrorCode } from "../oras/errors.js";

export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INVALID: 3,
  INTEGRITY: 4,
  NOT_FOUND: 5,
  AUTH: 6,
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
};

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof OciError) return EXIT_BY_CODE[err.code];
  return ExitCode.FAILURE;
}

export function debugEnabled(argv: readonly string[]): boolean {
  return argv.includes("--debug") || process.env.KIT_DEBUG === "1";
}

/** `kit: error: …` plus an optional hint line; a stack only when debugging. */
export function formatError(err: unknown, debug: boolean): string {
  const lines: string[] = [];
  const message = err instanceof Error ? err.message : String(err);
  lines.push(`kit: error: ${oneLine(message)}`);
  if (err instanceof OciError && err.hint) lines.push(`kit: hint: ${oneLine(err.hint)}`);
  if (debug && err instanceof Error && err.stack) lines.push(err.stack);
  return lines.join("\n") + "\n";
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, "; ");
}
