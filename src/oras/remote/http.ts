/**
 * The HTTP core of the registry client: a request function built from small
 * layers (retry, redirects, auth), each a function from the next `Send` to a
 * new `Send`, in the manner of undici's interceptors, over one of two
 * transports: Node's own HTTP client for direct connections (node-transport.ts)
 * and undici for proxies or a caller's dispatcher (undici-send.ts, loaded on
 * first use). Node streams throughout, never fetch: on the copy path web
 * streams cost twice the CPU and ten times the memory.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { errorCode, NetworkError, OciError } from "../errors.js";
import type { ConnectionOptions, HttpResponse, Layer, RequestBody, RequestTimeouts, Send } from "./http-types.js";
import { BODY_TIMEOUTS, connectionReason, isIn } from "./transport-errors.js";
import { isTransientError } from "../transient.js";
import { readAllLimited } from "../verify.js";
import { destroyNodeAgents, nodeSend } from "./node-transport.js";
import { proxySelector } from "./proxy.js";
import { DEFAULT_TIMEOUTS, formatDuration } from "./timeouts.js";

export type { AgentOptions, ConnectionOptions, HttpMethod, HttpRequest, HttpResponse, Layer, RequestBody, RequestTimeouts, ResponseBody, Send } from "./http-types.js";
export { abortReason, connectionReason, describeRequest, transportFailure } from "./transport-errors.js";

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

/** The most of an unwanted body read to keep its connection; past it, closing the connection is cheaper. */
const DISCARD_LIMIT = 64 * 1024;

/** Throw away a response body we do not need, so its connection returns to the pool (or is closed, if the body is large). */
export async function discard(res: Pick<HttpResponse, "body">): Promise<void> {
  let read = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      read += chunk.byteLength;
      if (read > DISCARD_LIMIT) break;
    }
  } catch {
    // A body that fails while being thrown away has nothing left to tell us.
  }
  if (read > DISCARD_LIMIT) abandonBody(res);
}

/**
 * Stop reading a body we will not use, at once (a lying length, a size over a
 * limit, a stream given up). Destroying a body may emit 'error' later;
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

/** undici-send.ts, loaded by the first request through a proxy or a caller's dispatcher. */
type UndiciSend = typeof import("./undici-send.js");
let undici: UndiciSend | undefined;
const loadUndici = async (): Promise<UndiciSend> => (undici ??= await import("./undici-send.js"));

/** Close the pooled connections, direct and through proxies (tests, or a CLI that wants to exit promptly). */
export async function closeSharedAgents(): Promise<void> {
  destroyNodeAgents();
  await undici?.closeProxyAgents();
}

/**
 * The innermost Send of a registry client: a direct connection, or, when
 * proxies are configured, through the proxy each request's URL needs (token
 * servers and storage redirects are chosen for on their own host).
 */
export function connectionSend(opts: ConnectionOptions = {}, timeouts: RequestTimeouts = DEFAULT_TIMEOUTS): Send {
  const direct = nodeSend(opts, timeouts);
  const select = proxySelector(opts.proxy);
  if (select === undefined) return direct;
  return async (req) => {
    const proxy = select(req.url);
    if (proxy === undefined) return direct(req);
    return (await loadUndici()).proxySend(proxy, opts, timeouts)(req);
  };
}

/** The innermost Send through a caller's own undici dispatcher. */
export function dispatcherSend(dispatcher: Dispatcher, timeouts: RequestTimeouts = DEFAULT_TIMEOUTS): Send {
  return async (req) => (await loadUndici()).undiciSend(dispatcher, timeouts)(req);
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
  if (isIn(BODY_TIMEOUTS, code)) {
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
