/**
 * The HTTP core of the registry client: one shared undici Agent (keep-alive
 * pools) and a request function built from small layers (retry, redirects,
 * auth), each a function from the next `Send` to a new `Send`, in the manner of
 * undici's interceptors. Node streams throughout (undici `request()`), never
 * fetch: on the copy path web streams cost twice the CPU and ten times the memory.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { Agent, Dispatcher } from "undici";
// undici's index also loads fetch, WebSocket, mocks and caches: ~55 ms of start-up for code we never call.
// The registry client needs the Agent and request() only, and request() works on any Dispatcher.
import AgentClass from "undici/lib/dispatcher/agent.js";
import undiciApi from "undici/lib/api/index.js";
import { errorCode, NetworkError, OciError } from "../errors.js";
import { isTransientError } from "../transient.js";
import { readAllLimited } from "../verify.js";
import { proxyLabel, proxySelector, type ProxySettings } from "./proxy.js";
import { DEFAULT_TIMEOUTS, formatDuration, type Timeouts } from "./timeouts.js";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * A request body. Bytes and factories can be sent again (retries, redirects,
 * a second attempt after an auth challenge); a plain Readable is sent at most once.
 */
export type RequestBody = Uint8Array | string | Readable | (() => Readable);

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal;
  /** Token scopes this request needs (`repository:NAME:pull`), read by the auth layer. */
  scopes?: readonly string[];
}

export type ResponseBody = Dispatcher.ResponseData["body"];

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Must be consumed, destroyed or dumped by whoever receives the response. */
  body: ResponseBody;
  /** The request that produced this response (after redirects, which may turn a POST into a GET). */
  method: HttpMethod;
  url: URL;
  /** The idle-body limit the body is read under, for messages. */
  idleBodyMs?: number;
}

export type Send = (req: HttpRequest) => Promise<HttpResponse>;
/** One behaviour wrapped around the next Send. */
export type Layer = (next: Send) => Send;

/**
 * `composeOutermostFirst(base, a, b)` sends through a, then b, then base: a
 * sees the request first and the response last. (undici's `compose()` takes
 * its interceptors the other way round, innermost first.)
 */
export function composeOutermostFirst(base: Send, ...layers: Layer[]): Send {
  return layers.reduceRight<Send>((next, layer) => layer(next), base);
}

export function isReplayable(body: RequestBody | undefined): boolean {
  return body === undefined || typeof body === "string" || typeof body === "function" || body instanceof Uint8Array;
}

/** A header value as one string (first of repeated values), or undefined. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Throw away a response body we do not need, so its connection returns to the pool. */
export async function discard(res: HttpResponse): Promise<void> {
  try {
    await res.body.dump({ limit: 64 * 1024 });
  } catch {
    // A body that fails while being thrown away has nothing left to tell us.
  }
}

/**
 * Stop reading a body we will not use, at once (a lying length, a size over a
 * limit, a stream given up). Destroying an undici body emits 'error' later;
 * with no listener that would crash the process, so one is added first.
 */
export function abandonBody(res: Pick<HttpResponse, "body">): void {
  res.body.on("error", () => {});
  res.body.destroy();
}

/** Origin (scheme://host:port) equality, the unit of trust for credentials. */
export function sameOrigin(a: URL, b: URL | string): boolean {
  return a.origin === (typeof b === "string" ? b : b.origin);
}

export interface AgentOptions {
  /** Skip TLS certificate verification. */
  insecure?: boolean;
  /** TCP and TLS set-up limit; default DEFAULT_TIMEOUTS.connectMs. 0: none. */
  connectTimeoutMs?: number;
}

export interface ConnectionOptions extends AgentOptions {
  /** Proxies and the hosts that bypass them; every request connects directly when absent. */
  proxy?: ProxySettings;
}

/**
 * Pool settings of every connection, direct or through a proxy. Connections per origin: enough for parallel blob
 * transfers, few enough to be polite. Header and body limits are set per request (undiciSend), not here.
 */
const POOL_OPTIONS = { connections: 8, keepAliveTimeout: 30_000 } as const;

function tlsOptions(opts: AgentOptions): { timeout: number; rejectUnauthorized?: false } {
  const timeout = opts.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs;
  return opts.insecure ? { timeout, rejectUnauthorized: false } : { timeout };
}

function agentKey(opts: AgentOptions): string {
  return `${opts.insecure ? "insecure" : "verified"} connect=${opts.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs}`;
}

const agents = new Map<string, Agent>();
const proxyAgents = new Map<string, Dispatcher>();

/** The process-wide Agent for these options (one per TLS mode and connect limit). */
export function sharedAgent(opts: AgentOptions = {}): Agent {
  const key = agentKey(opts);
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = new AgentClass({ ...POOL_OPTIONS, connect: tlsOptions(opts) });
    agents.set(key, agent);
  }
  return agent;
}

/** The process-wide dispatcher through `proxy`; undici's proxy code is loaded on first use only. */
async function sharedProxyAgent(proxy: URL, opts: AgentOptions): Promise<Dispatcher> {
  const key = `${agentKey(opts)} ${proxy.href}`;
  const existing = proxyAgents.get(key);
  if (existing !== undefined) return existing;
  const { createProxyAgent } = await import("./proxy-agent.js");
  // Another request may have made it while the module loaded.
  const agent = proxyAgents.get(key) ?? createProxyAgent(proxy, POOL_OPTIONS, tlsOptions(opts));
  proxyAgents.set(key, agent);
  return agent;
}

/** Close the shared agents (tests, or a CLI that wants to exit promptly). */
export async function closeSharedAgents(): Promise<void> {
  const all: Dispatcher[] = [...agents.values(), ...proxyAgents.values()];
  agents.clear();
  proxyAgents.clear();
  await Promise.all(all.map((a) => a.close()));
}

/**
 * The innermost Send of a registry client: straight through the shared Agent,
 * or, when proxies are configured, through the proxy each request's URL needs
 * (token servers and storage redirects are chosen for on their own host).
 */
export function connectionSend(opts: ConnectionOptions = {}, timeouts: RequestTimeouts = DEFAULT_TIMEOUTS): Send {
  const direct = undiciSend(sharedAgent(opts), timeouts);
  const select = proxySelector(opts.proxy);
  if (select === undefined) return direct;
  return async (req) => {
    const proxy = select(req.url);
    if (proxy === undefined) return direct(req);
    return undiciSend(await sharedProxyAgent(proxy, opts), timeouts, proxy)(req);
  };
}

function materialise(body: RequestBody | undefined): string | Uint8Array | Readable | undefined {
  return typeof body === "function" ? body() : body;
}

/** The limits undiciSend applies to each request. */
export type RequestTimeouts = Pick<Timeouts, "connectMs" | "headersMs" | "idleBodyMs">;

/**
 * The innermost Send: one HTTP exchange through undici, with the header and
 * idle-body limits; connection failures and timeouts become NetworkError.
 * `via`: the proxy the dispatcher goes through, named in those errors.
 */
export function undiciSend(dispatcher: Dispatcher, timeouts: RequestTimeouts = DEFAULT_TIMEOUTS, via?: URL): Send {
  return async (req) => {
    try {
      const res = await undiciApi.request.call(dispatcher, {
        origin: req.url.origin,
        path: req.url.pathname + req.url.search,
        method: req.method,
        headers: req.headers,
        body: materialise(req.body) ?? null,
        signal: req.signal,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.idleBodyMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, method: req.method, url: req.url, idleBodyMs: timeouts.idleBodyMs };
    } catch (err) {
      // An abort is rethrown as its reason: a deadline's NetworkError, or the caller's own.
      if (req.signal?.aborted) throw abortReason(req.signal, err);
      // Our own errors (e.g. a verifying upload source) pass through untouched.
      if (err instanceof OciError) throw err;
      throw via === undefined ? networkError(req, err, timeouts) : proxiedNetworkError(req, via, err, timeouts);
    }
  };
}

/** What a request aborted by signal rejects with: an error of ours when the signal carries one. */
export function abortReason(signal: AbortSignal, fallback: unknown): unknown {
  return signal.reason instanceof OciError ? signal.reason : fallback;
}

const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed while sending",
  ETIMEDOUT: "connection timed out",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_SOCKET: "connection closed unexpectedly",
  UND_ERR_CLOSED: "connection closed",
  UND_ERR_BODY_TIMEOUT: "response stalled",
};

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
  if (code === "UND_ERR_HEADERS_TIMEOUT") {
    return new NetworkError(`${url.host} sent no response headers for ${formatDuration(timeouts.headersMs)} to ${describeRequest(req)}`, {
      cause: err,
      hint: "the registry accepted the connection but does not answer; try again later, or allow more time with --headers-timeout",
    });
  }
  if (code === "UND_ERR_CONNECT_TIMEOUT") {
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
const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT"]);

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
  if (code === "UND_ERR_HEADERS_TIMEOUT") return networkError(req, err, timeouts);
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

/** Connection-level failures worth another attempt (the server may have been restarting or dropped us). */
export function isRetryableNetworkError(err: unknown): boolean {
  return err instanceof NetworkError && isTransientError(err);
}

/**
 * A failure while reading a response body as one of ours, naming the host,
 * what was being read and how far it got: "r.example stopped sending the body
 * of blob sha256:… after 1234 bytes, idle for 30 s". Our own errors (a size
 * limit, a deadline) pass through.
 */
export function bodyFailure(res: Pick<HttpResponse, "url" | "idleBodyMs">, err: unknown, what: string, received?: number): unknown {
  if (err instanceof OciError) return err;
  if (err instanceof Error && err.name === "AbortError") return err;
  const code = errorCode(err);
  const host = res.url.host;
  const after = received !== undefined ? ` after ${received} bytes` : "";
  if (code === "UND_ERR_BODY_TIMEOUT") {
    const idle = res.idleBodyMs !== undefined ? `, idle for ${formatDuration(res.idleBodyMs)}` : "";
    return new NetworkError(`${host} stopped sending the body of ${what}${after}${idle}`, {
      cause: err,
      hint: "the registry stalled mid-transfer; try again later, or allow more time with --idle-timeout",
    });
  }
  const broken = new NetworkError(`connection to ${host} broke while reading ${what}${after}: ${connectionReason(err)}`, { cause: err });
  brokenBodies.add(broken);
  return broken;
}

/** What happened to a connection, in a few words ("connection reset"), for messages. */
export function connectionReason(err: unknown): string {
  const code = errorCode(err);
  return (code && CONNECTION_CODES[code]) ?? (err instanceof Error ? err.message : String(err));
}

/** The failures bodyFailure made of a body that broke off (not of one that stalled). */
const brokenBodies = new WeakSet<object>();

/** Whether err is a response body that broke off transiently (a reset, a premature close): worth fetching again. */
export function isBrokenBody(err: unknown): boolean {
  return err instanceof NetworkError && brokenBodies.has(err) && isTransientError(err);
}

/** A whole (small) response body, at most `limit` bytes (readAllLimited); a broken or stalled body fails with bodyFailure's NetworkError. */
export async function readResponse(res: HttpResponse, limit: number, what: string): Promise<Buffer> {
  try {
    return await readAllLimited(res.body, limit, what);
  } catch (err) {
    throw bodyFailure(res, err, what);
  }
}
