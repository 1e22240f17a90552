/**
 * What a failed HTTP exchange becomes: a NetworkError that names the host
 * (and the proxy), says what went wrong in a few words and what to do, for
 * either transport. undici and node-transport.ts give the same events
 * different codes; both are listed.
 */
import { errorCode, NetworkError, OciError } from "../errors.js";
import type { HttpRequest, RequestTimeouts } from "./http-types.js";
import { proxyLabel } from "./proxy.js";
import { formatDuration } from "./timeouts.js";

/** Codes of the errors node-transport.ts raises for its limits and for a body the server closed early. */
export const CONNECT_TIMEOUT = "ERR_KIT_HTTP_CONNECT_TIMEOUT";
export const HEADERS_TIMEOUT = "ERR_KIT_HTTP_HEADERS_TIMEOUT";
export const BODY_TIMEOUT = "ERR_KIT_HTTP_BODY_TIMEOUT";
export const PREMATURE_CLOSE = "ERR_KIT_HTTP_PREMATURE_CLOSE";

/** What a request fails with when its transport throws: the signal's reason, our own error, or a NetworkError naming the host (and proxy). */
export function transportFailure(req: HttpRequest, err: unknown, timeouts: RequestTimeouts, via?: URL): unknown {
  // An abort is rethrown as its reason: a deadline's NetworkError, or the caller's own.
  if (req.signal?.aborted) return abortReason(req.signal, err);
  // Our own errors (e.g. a verifying upload source) pass through untouched.
  if (err instanceof OciError) return err;
  return via === undefined ? networkError(req, err, timeouts) : proxiedNetworkError(req, via, err, timeouts);
}

/** What a request aborted by signal rejects with: an error of ours when the signal carries one. */
export function abortReason(signal: AbortSignal, fallback: unknown): unknown {
  return signal.reason instanceof OciError ? signal.reason : fallback;
}

export const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed while sending",
  ETIMEDOUT: "connection timed out",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_SOCKET: "connection closed unexpectedly",
  [PREMATURE_CLOSE]: "connection closed unexpectedly",
  UND_ERR_CLOSED: "connection closed",
  UND_ERR_BODY_TIMEOUT: "response stalled",
  [BODY_TIMEOUT]: "response stalled",
};

/** Each transport's code for the same limit (node-transport.ts's, undici's). */
const HEADERS_TIMEOUTS = new Set([HEADERS_TIMEOUT, "UND_ERR_HEADERS_TIMEOUT"]);
const CONNECT_TIMEOUTS = new Set([CONNECT_TIMEOUT, "UND_ERR_CONNECT_TIMEOUT"]);
export const BODY_TIMEOUTS = new Set([BODY_TIMEOUT, "UND_ERR_BODY_TIMEOUT"]);
export const isIn = (codes: ReadonlySet<string>, code: string | undefined): boolean => code !== undefined && codes.has(code);

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

function connectionFailure(code: string | undefined): string {
  return (code && CONNECTION_CODES[code]) ?? (code ? `connection failed (${code})` : "connection failed");
}

/** "GET /v2/team/app/manifests/v1": the request as messages name it (never the query, which may hold secrets). */
export function describeRequest(req: Pick<HttpRequest, "method" | "url">): string {
  return `${req.method} ${req.url.pathname}`;
}

function networkError(req: HttpRequest, err: unknown, timeouts: RequestTimeouts): NetworkError {
  const url = req.url;
  const code = errorCode(err);
  if (isIn(HEADERS_TIMEOUTS, code)) {
    return new NetworkError(`${url.host} sent no response headers for ${formatDuration(timeouts.headersMs)} to ${describeRequest(req)}`, {
      cause: err,
      hint: "the registry accepted the connection but does not answer; try again later, or allow more time with --headers-timeout",
    });
  }
  if (isIn(CONNECT_TIMEOUTS, code)) {
    return new NetworkError(`cannot reach ${url.host}: no connection within ${formatDuration(timeouts.connectMs)}`, {
      cause: err,
      hint: `check that ${url.host} is the right registry address and reachable from here, or allow more time with --connect-timeout`,
    });
  }
  if (code !== undefined && TLS_CODES.has(code)) {
    return new NetworkError(`cannot reach ${url.host}: TLS certificate not trusted (${code})`, {
      cause: err,
      hint: "fix the registry's certificate, or pass --insecure to skip verification for this registry",
    });
  }
  if (code === "EPROTO" || (err instanceof Error && /wrong version number|packet length too long/i.test(err.message))) {
    return new NetworkError(`cannot reach ${url.host}: TLS handshake failed`, {
      cause: err,
      hint: "if the registry speaks plain HTTP, pass --plain-http",
    });
  }
  return new NetworkError(`cannot reach ${url.host}: ${connectionFailure(code)}`, {
    cause: err,
    hint: `check that ${url.host} is the right registry address and that it is running`,
  });
}

/** Failures to open a connection: through a proxy, only the proxy is connected to. */
const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", ...CONNECT_TIMEOUTS]);

/** undici's words for a proxy's refusal: "Proxy response (502) !== 200 when HTTP Tunneling", "Proxy Authentication Required (407)". */
function proxyRefusal(err: unknown): number | undefined {
  const match = err instanceof Error ? /^Proxy (?:response|Authentication Required) \((\d{3})\)/.exec(err.message) : null;
  return match ? Number(match[1]) : undefined;
}

/** A failure of a request sent through the proxy `via`, naming the proxy (never its credentials). */
function proxiedNetworkError(req: HttpRequest, via: URL, err: unknown, timeouts: RequestTimeouts): NetworkError {
  const url = req.url;
  const proxy = proxyLabel(via);
  const refusal = proxyRefusal(err);
  if (refusal === 407) {
    const hasCredentials = via.username !== "" || via.password !== "";
    return new NetworkError(`the proxy ${proxy} refused the request for ${url.host}: proxy authentication required (407)`, {
      cause: err,
      hint: hasCredentials ? "the proxy did not accept the credentials in its URL" : "give the proxy's user name and password in its URL, as user-info before the host (as curl and docker take them)",
    });
  }
  if (refusal !== undefined) {
    return new NetworkError(`the proxy ${proxy} could not connect to ${url.host} (it answered ${refusal})`, {
      cause: err,
      hint: `check that ${url.host} is the right address, or list it in NO_PROXY to connect directly`,
    });
  }
  const code = errorCode(err);
  // A stalled answer is the registry's (the proxy relays it): said as for a direct connection.
  if (isIn(HEADERS_TIMEOUTS, code)) return networkError(req, err, timeouts);
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return new NetworkError(`cannot reach the proxy ${proxy} for ${url.host}: ${connectionFailure(code)}`, {
      cause: err,
      hint: `check the proxy's address and that it is running, or list ${url.hostname} in NO_PROXY to connect directly`,
    });
  }
  if ((code !== undefined && TLS_CODES.has(code)) || code === "EPROTO") return networkError(req, err, timeouts);
  return new NetworkError(`cannot reach ${url.host} through the proxy ${proxy}: ${connectionFailure(code)}`, {
    cause: err,
    hint: `check that ${url.host} is the right registry address and that it is running`,
  });
}

/** What happened to a connection, in a few words ("connection reset"), for messages. */
export function connectionReason(err: unknown): string {
  const code = errorCode(err);
  return (code && CONNECTION_CODES[code]) ?? (err instanceof Error ? err.message : String(err));
}
