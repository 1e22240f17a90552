/**
 * Direct connections over Node's own HTTP client: keep-alive agents (one per
 * scheme and TLS mode), with the three limits of Timeouts enforced per
 * request here, because node:http has none of them as such. undici stays for
 * proxies (undici-send.ts); for a direct pull it cost ~60 ms of start-up
 * (loading it and compiling its WebAssembly parser) against ~20 ms for
 * node:http, and it moves bytes no faster on loopback.
 *
 * node:https (and so node:tls) is loaded on the first https: request only.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type IncomingHttpHeaders } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { pipeline, type Readable } from "node:stream";
import type { Socket } from "node:net";
import { DEFAULT_TIMEOUTS } from "./timeouts.js";
import type { AgentOptions, HttpRequest, HttpResponse, RequestTimeouts, Send } from "./http-types.js";
import { BODY_TIMEOUT, CONNECT_TIMEOUT, HEADERS_TIMEOUT, PREMATURE_CLOSE, transportFailure } from "./transport-errors.js";

/** Connections per origin: enough for parallel blob transfers, few enough to be polite (as for proxies). */
export const MAX_SOCKETS = 8;
/**
 * How long an idle connection is kept (or less, when the server's Keep-Alive header says so): a connection a
 * server closed while idle would fail the next request sent on it, which only a replayable one survives.
 */
export const KEEP_ALIVE_MS = 30_000;

type Agent = HttpAgent | HttpsAgent;
/** A pool and the request function of its scheme (node:https's once the first https: request loaded it). */
interface Connector {
  agent: Agent;
  request: typeof httpRequest;
}
const connectors = new Map<string, Connector>();

function transportError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

async function connectorFor(url: URL, opts: AgentOptions): Promise<Connector> {
  // The connect limit is per request, so it does not split the pool.
  const key = `${url.protocol} ${opts.insecure ? "insecure" : "verified"}`;
  const known = connectors.get(key);
  if (known !== undefined) return known;
  // `timeout` closes a pooled connection idle that long; on one in use it only emits an event nobody acts on.
  const settings = { keepAlive: true, maxSockets: MAX_SOCKETS, timeout: KEEP_ALIVE_MS };
  let connector: Connector;
  if (url.protocol === "https:") {
    const https = await import("node:https");
    // Another request may have made it while the module loaded.
    connector = connectors.get(key) ?? { agent: new https.Agent(opts.insecure ? { ...settings, rejectUnauthorized: false } : settings), request: https.request };
  } else {
    connector = { agent: new HttpAgent(settings), request: httpRequest };
  }
  connectors.set(key, connector);
  return connector;
}

/** Close every pooled connection (tests; a CLI exits without: idle sockets do not hold the process). */
export function destroyNodeAgents(): void {
  for (const { agent } of connectors.values()) agent.destroy();
  connectors.clear();
}

/** Response headers as undici gives them: lower-case names, a repeated header as an array, none joined or dropped. */
function headersOf(res: IncomingMessage): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, values] of Object.entries(res.headersDistinct)) {
    if (values === undefined) continue;
    (headers as Record<string, string | string[]>)[name] = values.length === 1 ? values[0]! : values;
  }
  return headers;
}

function requestHeaders(req: HttpRequest, body: string | Uint8Array | Readable | undefined): Record<string, string> {
  // Said outright, as undici does: a POST, PUT or PATCH without a body still tells the server it has none.
  if (body === undefined) return req.method === "POST" || req.method === "PUT" || req.method === "PATCH" ? { ...req.headers, "content-length": "0" } : req.headers;
  if (typeof body === "string") return { ...req.headers, "content-length": String(Buffer.byteLength(body)) };
  if (body instanceof Uint8Array) return { ...req.headers, "content-length": String(body.byteLength) };
  return req.headers;
}

/**
 * The connection limit: from the moment the request has a socket that is
 * still connecting until TCP (and TLS) set-up completes. A pooled socket is
 * already connected.
 */
function limitConnect(request: ClientRequest, socket: Socket, ms: number, host: string): void {
  if (!socket.connecting || ms <= 0) return;
  const ready = "encrypted" in socket ? "secureConnect" : "connect";
  const timer = setTimeout(() => request.destroy(transportError(CONNECT_TIMEOUT, `no connection to ${host} within ${ms} ms`)), ms);
  const done = (): void => clearTimeout(timer);
  socket.once(ready, done);
  socket.once("close", done);
}

/**
 * A server that closes the connection (a FIN) before the body is complete:
 * node:http calls that "aborted", as it does a reset; said as what it is.
 * The socket ends only after the parser has had every byte before the FIN,
 * so a body that the close itself ends (no Content-Length) is complete by then.
 */
function watchEarlyClose(res: IncomingMessage, socket: Socket, host: string): void {
  const onEnd = (): void => {
    if (!res.complete) res.destroy(transportError(PREMATURE_CLOSE, `${host} closed the connection before the body was complete`));
  };
  socket.once("end", onEnd);
  const done = (): void => void socket.off("end", onEnd);
  res.once("end", done);
  res.once("close", done);
}

/**
 * The idle-body limit: the longest the socket may go without a byte while the
 * body waits for one. Time the reader spends not reading (its buffer full, the
 * socket paused for backpressure) is not silence of the server's, so the timer
 * starts again instead of failing the body.
 */
function limitIdleBody(res: IncomingMessage, socket: Socket, ms: number, host: string): void {
  if (ms <= 0) return;
  let timer: NodeJS.Timeout;
  const onData = (): void => void timer.refresh();
  const done = (): void => {
    clearTimeout(timer);
    socket.off("data", onData);
  };
  const expire = (): void => {
    // Every byte has come; what is left is the reader's to take.
    if (res.complete) return done();
    if (res.readableLength > 0 || socket.isPaused()) {
      timer.refresh();
      return;
    }
    res.destroy(transportError(BODY_TIMEOUT, `${host} sent no body bytes for ${ms} ms`));
  };
  // The socket keeps the process alive while the body is awaited; the timer need not.
  timer = setTimeout(expire, ms).unref();
  socket.on("data", onData);
  res.once("end", done);
  res.once("close", done);
}

/**
 * The innermost Send of a direct connection: one HTTP exchange, failing with
 * errors whose codes http.ts turns into NetworkErrors. An abort (the caller's
 * or an operation deadline's) fails the request, or the body if headers have
 * come, with the signal's reason, as undici does.
 */
export function nodeSend(opts: AgentOptions, timeouts: RequestTimeouts = DEFAULT_TIMEOUTS): Send {
  return async (req) => {
    try {
      return await exchange(req, opts, timeouts);
    } catch (err) {
      throw transportFailure(req, err, timeouts);
    }
  };
}

async function exchange(req: HttpRequest, opts: AgentOptions, timeouts: RequestTimeouts): Promise<HttpResponse> {
  const { signal } = req;
  signal?.throwIfAborted();
  const { agent, request: send } = await connectorFor(req.url, opts);
  // Made last, so that a stream from a factory is always handed to the request (which ends or destroys it).
  const body = typeof req.body === "function" ? req.body() : req.body;
  return new Promise<HttpResponse>((resolve, reject) => {
    const request = send(req.url, { method: req.method, headers: requestHeaders(req, body), agent });
    let response: IncomingMessage | undefined;
    let headersTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      const reason = (signal?.reason as Error | undefined) ?? new DOMException("This operation was aborted", "AbortError");
      if (response) response.destroy(reason);
      else request.destroy(reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    request.once("socket", (socket: Socket) => limitConnect(request, socket, opts.connectTimeoutMs ?? timeouts.connectMs, req.url.host));
    // As undici counts it: from the last byte of the request (a long upload is not a silent server).
    request.once("finish", () => {
      if (timeouts.headersMs <= 0 || response !== undefined) return;
      headersTimer = setTimeout(
        () => request.destroy(transportError(HEADERS_TIMEOUT, `${req.url.host} sent no response headers within ${timeouts.headersMs} ms`)),
        timeouts.headersMs,
      );
    });
    request.on("error", (err) => {
      clearTimeout(headersTimer);
      // After the response, a failure reaches its reader through the body.
      if (response !== undefined) return;
      signal?.removeEventListener("abort", onAbort);
      reject(err);
    });
    request.once("response", (res: IncomingMessage) => {
      clearTimeout(headersTimer);
      response = res;
      if (signal) res.once("close", () => signal.removeEventListener("abort", onAbort));
      if (!res.complete) {
        watchEarlyClose(res, res.socket, req.url.host);
        limitIdleBody(res, res.socket, timeouts.idleBodyMs, req.url.host);
      }
      resolve({ status: res.statusCode ?? 0, headers: headersOf(res), body: res, method: req.method, url: req.url, idleBodyMs: timeouts.idleBodyMs });
    });
    if (body === undefined || typeof body === "string" || body instanceof Uint8Array) request.end(body);
    // A failing source (a verifying stream from another registry) fails the request with its own error.
    else pipeline(body, request, () => {});
  });
}
