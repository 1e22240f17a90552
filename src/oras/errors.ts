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
  | "IO" // local filesystem failure
  | "UNTRUSTED"; // content whose signatures do not verify with the keys it must be signed with

/** One entry of a registry's distribution-spec error body: `{"errors":[{code, message, detail}]}`. */
export interface RegistryErrorEntry {
  /** e.g. "MANIFEST_UNKNOWN", "DIGEST_INVALID"; "UNKNOWN" when the registry sent none. */
  code: string;
  message: string;
  /** Whatever JSON the registry put in `detail`; absent when it sent none. */
  detail?: unknown;
}

/**
 * What a registry answered, kept on an error built from its response (as
 * oras-go's errcode.ErrorResponse keeps it), so callers can act on the
 * registry's codes instead of parsing messages.
 */
export interface RegistryResponse {
  method: string;
  /** scheme://host/path of the request: never credentials, never the query (upload and storage URLs carry secrets there). */
  url: string;
  status: number;
  /** The body's `errors` list (read bounded); empty when it had none. */
  errors: readonly RegistryErrorEntry[];
}

export interface ErrorDetails {
  /** A second line telling the user what to do next. */
  hint?: string;
  cause?: unknown;
  /** The registry response this error was built from. */
  response?: RegistryResponse;
}

export class OciError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Set when the error was built from a registry's answer. Not enumerable, like `cause`: context, not identity. */
  declare readonly response: RegistryResponse | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = details.hint;
    Object.defineProperty(this, "response", { value: details.response, enumerable: false, writable: false, configurable: true });
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

/**
 * Content that is intact but not trusted: no signature verifies with the
 * given keys for that digest and identity. Not an integrity failure (the
 * bytes match their digests), not a missing thing (the content is there).
 */
export class UntrustedError extends OciError {
  constructor(message: string, details?: ErrorDetails) {
    super("UNTRUSTED", message, details);
  }
}

export function isOciError(err: unknown): err is OciError {
  return err instanceof OciError;
}

/** The innermost error code of a failure, looking through undici's and Node's wrapping (`cause`). */
export function errorCode(err: unknown): string | undefined {
  let found: string | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") found = code;
  }
  return found;
}

/**
 * The same error (class, code, hint, response and every other field) with
 * `context: ` before its message, for a caller that knows where it happened.
 * A new object, because the original may be shared (a memoised rejection).
 */
export function withContext<E extends OciError>(err: E, context: string): E {
  const copy = Object.create(Object.getPrototypeOf(err) as object, Object.getOwnPropertyDescriptors(err)) as E;
  const message = `${context}: ${err.message}`;
  Object.defineProperty(copy, "message", { value: message, writable: true, configurable: true, enumerable: false });
  // Read the stack once here: V8 may keep it behind an accessor bound to the original.
  const stack = typeof err.stack === "string" ? err.stack.replace(err.message, message) : undefined;
  Object.defineProperty(copy, "stack", { value: stack, writable: true, configurable: true, enumerable: false });
  return copy;
}
