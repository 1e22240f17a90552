/**
 * Which failures are transient: worth another attempt. Apart from errors.ts
 * because it names the transports' error codes, and errors.ts is loaded by every
 * command, `kit --version` included.
 */
import { errorCode, NetworkError, RegistryError } from "./errors.js";
import { PREMATURE_CLOSE } from "./remote/transport-errors.js";

/**
 * Connection failures worth another attempt: the peer dropped or refused us
 * (it may have been restarting). Timeouts are not among them: a registry that
 * stalled once is waited for no longer than the user allowed.
 */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  PREMATURE_CLOSE,
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** 408 Request Timeout, 429 Too Many Requests and the 5xx answers a restart or overload produces. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/**
 * A failure that may well not happen again: a NetworkError caused by a
 * dropped connection, or a RegistryError for a transient status. What the
 * retry layer retries, and what makes copy send a blob again.
 */
export function isTransientError(err: unknown): boolean {
  if (err instanceof NetworkError) return TRANSIENT_CODES.has(errorCode(err.cause) ?? "");
  if (err instanceof RegistryError) return err.status !== undefined && TRANSIENT_STATUSES.has(err.status);
  return false;
}
