/**
 * One error hierarchy for the whole tool. Every error carries a stable `code`;
 * the CLI maps codes to exit codes in exactly one place (src/cli/exit.ts).
 * Messages must never contain credentials.
 */

export type ErrorCode =
  | "USAGE" // bad flags or arguments
  | "INVALID_REFERENCE" // a reference or digest string that does not parse
  | "INVALID_CONTENT" // content that parses but breaks a format rule (a manifest, index.json, a document a layer above defines)
  | "UNSUPPORTED" // a media type, algorithm or feature we do not handle
  | "DIGEST_MISMATCH" // bytes do not hash to the digest that names them
  | "SIZE_MISMATCH" // bytes are not the size the descriptor claims
  | "SIZE_LIMIT" // content larger than the limit we accept for it
  | "NOT_FOUND" // manifest, blob, tag, repository or file missing
  | "UNAUTHORIZED" // no or wrong credentials
  | "DENIED" // credentials valid but not allowed
  | "EXISTS" // refusing to overwrite
  | "NETWORK" // connection-level failure
  | "REGISTRY" // registry answered with an unexpected error
  | "IO"; // local filesystem failure

export interface ErrorDetails {
  /** A second line telling the user what to do next. */
  hint?: string;
  cause?: unknown;
}

export class OciError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = details.hint;
  }
}

export class UsageError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("USAGE", message, details);
  }
}

export class InvalidReferenceError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("INVALID_REFERENCE", message, details);
  }
}

export class InvalidContentError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("INVALID_CONTENT", message, details);
  }
}

export class UnsupportedError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("UNSUPPORTED", message, details);
  }
}

export class DigestMismatchError extends OciError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    what: string,
    details?: ErrorDetails,
  ) {
    super("DIGEST_MISMATCH", `digest mismatch for ${what}: expected ${expected}, got ${actual}`, details);
  }
}

export class SizeMismatchError extends OciError {
  constructor(
    readonly expected: number,
    readonly actual: number,
    what: string,
    details?: ErrorDetails,
  ) {
    super("SIZE_MISMATCH", `size mismatch for ${what}: expected ${expected} bytes, got ${actual}`, details);
  }
}

export class SizeLimitError extends OciError {
  constructor(
    readonly limit: number,
    what: string,
    /** `unit`: what the limit counts (default "bytes"). */
    details?: ErrorDetails & { unit?: string },
  ) {
    super("SIZE_LIMIT", `${what} exceeds the limit of ${limit} ${details?.unit ?? "bytes"}`, details);
  }
}

export class NotFoundError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("NOT_FOUND", message, details);
  }
}

export class UnauthorizedError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("UNAUTHORIZED", message, details);
  }
}

export class DeniedError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("DENIED", message, details);
  }
}

export class ExistsError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("EXISTS", message, details);
  }
}

export class NetworkError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("NETWORK", message, details);
  }
}

export class RegistryError extends OciError {
  constructor(
    message: string,
    readonly status?: number,
    details?: ErrorDetails,
  ) {
    super("REGISTRY", message, details);
  }
}

export class IoError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("IO", message, details);
  }
}

export function isOciError(err: unknown): err is OciError {
  return err instanceof OciError;
}
