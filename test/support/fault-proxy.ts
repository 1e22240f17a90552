/**
 * A streaming reverse proxy in front of a real registry that injects faults on request, for retry,
 * integrity and redirect tests:
 *
 *   const proxy = await startFaultProxy({ upstream: registry });
 *   const rule = proxy.addRule({ method: "GET", path: /\/blobs\//, times: 2, status: 503, headers: { "Retry-After": "1" } });
 *   ... pull through proxy.host ...
 *   expect(rule.fired).toBe(2);
 *   expect(proxy.count({ method: "GET", path: /\/blobs\// })).toBe(3);
 *   afterAll(async () => { await proxy?.stop(); });
 *
 * Rules are tried in order; the first one that matches (method, regexp on path+query, listener) and has
 * not used up `times` fires. What a rule does, in order of precedence:
 *   status          answer it here (the request body is drained first) without asking the registry
 *   resetConnection reset the TCP connection before any response
 *   redirectTo      307 to the blob on a second listener ("other-origin": another port, so another origin,
 *                   like a CDN with a presigned URL) or back to this one ("same-origin")
 *   otherwise forward to the registry and then apply any of: replaceHeader, corruptBody, resetAfterBytes,
 *                   stallAfterBytes
 *
 * Other-origin redirects behave like presigned URLs: the ticket in the URL is the credential, and the
 * second listener uses the Authorization of the request that was redirected when it asks the registry,
 * so a client must NOT send its own. Whether it did is recorded (`hasAuthorization`).
 *
 * The Host header is passed through, so upload Locations the registry builds point back at the proxy.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type net from "node:net";
import { pipeline, Transform, type TransformCallback } from "node:stream";

export type Listener = "main" | "other";

export interface FaultRule {
  /** HTTP method to match; any if omitted. */
  method?: string;
  /** Matched against the request's path and query. */
  path: RegExp;
  /** How many times the rule fires; default 1. Infinity for always. */
  times?: number;
  /** Which listener the rule watches; default "main". */
  on?: Listener;
  /** Wait this long before acting (to exercise client timeouts). */
  delayMs?: number;

  status?: number;
  headers?: Record<string, string>;
  body?: string;

  resetConnection?: boolean;

  redirectTo?: "other-origin" | "same-origin";
  /** Redirect status; default 307. */
  redirectStatus?: 301 | 302 | 303 | 307 | 308;

  /** Override response headers from the registry (e.g. a lying Docker-Content-Digest). */
  replaceHeader?: Record<string, string>;
  /** Flip one byte of the response body (length unchanged). */
  corruptBody?: boolean;
  /** Which byte corruptBody flips; default 0. */
  corruptAt?: number;
  /** Send the response head and exactly this many body bytes, then close the connection mid-response. */
  resetAfterBytes?: number;
  /** Send the response head and exactly this many body bytes, then nothing more (the connection stays open until the client gives up). */
  stallAfterBytes?: number;
}

export interface ActiveRule {
  readonly rule: FaultRule;
  /** How many times it has fired so far. */
  readonly fired: number;
  /** Stop it from firing again. */
  remove(): void;
}

export interface ProxyRequestRecord {
  listener: Listener;
  method: string;
  /** Path and query as received (tickets included). */
  url: string;
  hasAuthorization: boolean;
  /** The Range header of the request, if it had one. */
  range: string | undefined;
  /** The rule that fired for this request, if any. */
  rule: ActiveRule | undefined;
  /** Status sent to the client; undefined if the connection was reset before a response. */
  status: number | undefined;
}

export interface RequestFilter {
  method?: string;
  path?: RegExp;
  listener?: Listener;
}

export interface FaultProxyOptions {
  /** The registry to forward to: "http://127.0.0.1:PORT" or anything with a `url`. */
  upstream: string | { url: string };
  rules?: FaultRule[];
  /** Make the other-origin listener answer 400 when a request carries Authorization, as S3 does for presigned URLs. */
  otherOriginRejectsAuthorization?: boolean;
}

export interface FaultProxy {
  /** "127.0.0.1:PORT" — use it where the registry host would go. */
  host: string;
  url: string;
  /** The second origin that redirected blobs are served from. */
  otherOrigin: { host: string; url: string };
  requests: ProxyRequestRecord[];
  addRule(rule: FaultRule): ActiveRule;
  clearRules(): void;
  /** Requests seen that match the filter (all if none). */
  count(filter?: RequestFilter): number;
  /** Forget recorded requests (rules keep their counts). */
  resetRequests(): void;
  stop(): Promise<void>;
}

const TICKET_PARAM = "x-fault-ticket";
/** Headers that concern one connection, never passed on by a proxy. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

class RuleState implements ActiveRule {
  fired = 0;
  removed = false;
  constructor(readonly rule: FaultRule) {}
  matches(listener: Listener, method: string, url: string): boolean {
    const r = this.rule;
    return (
      !this.removed &&
      this.fired < (r.times ?? 1) &&
      (r.on ?? "main") === listener &&
      (r.method === undefined || r.method.toUpperCase() === method) &&
      r.path.test(url)
    );
  }
  remove(): void {
    this.removed = true;
  }
}

interface Ticket {
  path: string;
  authorization: string | undefined;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(typeof opts.upstream === "string" ? opts.upstream : opts.upstream.url);
  const agent = new http.Agent({ keepAlive: true });
  const rules: RuleState[] = [];
  const requests: ProxyRequestRecord[] = [];
  const tickets = new Map<string, Ticket>();
  const addRule = (rule: FaultRule): ActiveRule => {
    const state = new RuleState(rule);
    rules.push(state);
    return state;
  };
  for (const rule of opts.rules ?? []) addRule(rule);

  let otherHost = "";

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: ProxyRequestRecord,
    path: string,
    headers: http.OutgoingHttpHeaders,
    rule: FaultRule | undefined,
  ): void => {
    const upstreamReq = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path,
      headers,
      agent,
    });
    upstreamReq.on("response", (up) => {
      const responseHeaders: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) responseHeaders[name] = value;
      }
      for (const [name, value] of Object.entries(rule?.replaceHeader ?? {})) {
        responseHeaders[name.toLowerCase()] = value;
      }
      record.status = up.statusCode ?? 502;
      res.writeHead(record.status, responseHeaders);
      const stages: NodeJS.ReadWriteStream[] = [];
      if (rule?.corruptBody) stages.push(flipByteAt(rule.corruptAt ?? 0));
      if (rule?.resetAfterBytes !== undefined) stages.push(resetAfter(rule.resetAfterBytes, res.socket));
      if (rule?.stallAfterBytes !== undefined) stages.push(stallAfter(rule.stallAfterBytes));
      pipeline([up, ...stages, res], () => {
        // Errors here mean one side went away; nothing useful to report to the other.
      });
    });
    upstreamReq.on("error", (error) => {
      if (!res.headersSent) {
        record.status = 502;
        res.writeHead(502, { "Content-Type": "text/plain" });
        res.end(`fault proxy: upstream error: ${error.message}`);
      } else {
        res.destroy();
      }
    });
    // The client went away (or a rule cut it off): stop the registry's side too.
    res.on("close", () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    req.pipe(upstreamReq);
  };

  const forwardHeaders = (req: http.IncomingMessage): http.OutgoingHttpHeaders => {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    return headers;
  };

  const handle = async (listener: Listener, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const record: ProxyRequestRecord = {
      listener,
      method,
      url,
      hasAuthorization: req.headers.authorization !== undefined,
      range: req.headers.range,
      rule: undefined,
      status: undefined,
    };
    requests.push(record);

    const parsed = new URL(url, "http://proxy.invalid");
    const ticketId = parsed.searchParams.get(TICKET_PARAM);
    // A redirected request must not be redirected again by the rule that sent it here.
    const state = listener === "main" && ticketId !== null ? undefined : rules.find((r) => r.matches(listener, method, url));
    const rule = state?.rule;
    if (state !== undefined) {
      state.fired++;
      record.rule = state;
    }
    if (rule?.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, rule.delayMs));

    if (rule?.status !== undefined) {
      // Drain first, so the client sees our answer rather than a broken pipe mid-upload.
      req.resume();
      await new Promise<void>((resolve) => {
        if (req.complete) resolve();
        else req.once("end", resolve).once("error", () => resolve()).once("close", () => resolve());
      });
      const body = Buffer.from(rule.body ?? "");
      record.status = rule.status;
      res.writeHead(rule.status, { "Content-Length": String(body.length), ...rule.headers });
      res.end(body);
      return;
    }
    if (rule?.resetConnection) {
      resetSocket(req.socket);
      return;
    }
    if (rule?.redirectTo !== undefined) {
      const id = randomBytes(12).toString("hex");
      tickets.set(id, { path: url, authorization: req.headers.authorization });
      const location =
        rule.redirectTo === "other-origin"
          ? `http://${otherHost}${parsed.pathname}?${TICKET_PARAM}=${id}`
          : `http://${req.headers.host ?? ""}${parsed.pathname}?${TICKET_PARAM}=${id}`;
      record.status = rule.redirectStatus ?? 307;
      req.resume();
      res.writeHead(record.status, { Location: location, "Content-Length": "0" });
      res.end();
      return;
    }

    if (listener === "other") {
      const ticket = ticketId === null ? undefined : tickets.get(ticketId);
      if (ticket === undefined) {
        record.status = 403;
        res.writeHead(403, { "Content-Type": "text/plain" });
        res.end("fault proxy other origin: missing or unknown ticket");
        return;
      }
      if (opts.otherOriginRejectsAuthorization && record.hasAuthorization) {
        record.status = 400;
        res.writeHead(400, { "Content-Type": "text/plain" });
        res.end("only one auth mechanism allowed: the URL is already signed");
        return;
      }
      const headers = forwardHeaders(req);
      delete headers.authorization;
      if (ticket.authorization !== undefined) headers.authorization = ticket.authorization;
      forward(req, res, record, ticket.path, headers, rule);
      return;
    }

    let path = url;
    if (ticketId !== null) {
      const ticket = tickets.get(ticketId);
      path = ticket?.path ?? parsed.pathname;
    }
    forward(req, res, record, path, forwardHeaders(req), rule);
  };

  const serve = (listener: Listener) =>
    http.createServer((req, res) => {
      handle(listener, req, res).catch(() => res.destroy());
    });
  const main = serve("main");
  const other = serve("other");
  const mainHost = await listen(main);
  otherHost = await listen(other);

  let stopping: Promise<void> | undefined;
  return {
    host: mainHost,
    url: `http://${mainHost}`,
    otherOrigin: { host: otherHost, url: `http://${otherHost}` },
    requests,
    addRule,
    clearRules() {
      for (const r of rules) r.remove();
      rules.length = 0;
    },
    count(filter = {}) {
      return requests.filter(
        (r) =>
          (filter.method === undefined || filter.method.toUpperCase() === r.method) &&
          (filter.listener === undefined || filter.listener === r.listener) &&
          (filter.path === undefined || filter.path.test(r.url)),
      ).length;
    },
    resetRequests() {
      requests.length = 0;
    },
    stop() {
      stopping ??= (async () => {
        for (const server of [main, other]) server.closeAllConnections();
        await Promise.all([main, other].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
        agent.destroy();
      })();
      return stopping;
    },
  };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fault proxy has no port");
  return `127.0.0.1:${address.port}`;
}

/** A TCP RST rather than a polite FIN, so the client sees ECONNRESET like a real network fault. */
function resetSocket(socket: net.Socket | null): void {
  if (socket === null) return;
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else socket.destroy();
}

function flipByteAt(offset: number): Transform {
  let position = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (offset >= position && offset < position + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[offset - position] = copy[offset - position]! ^ 0xff;
        chunk = copy;
      }
      position += chunk.length;
      callback(null, chunk);
    },
  });
}

function resetAfter(limit: number, socket: net.Socket | null): Transform {
  let sent = 0;
  let cut = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (cut) {
        callback();
        return;
      }
      const room = limit - sent;
      if (room >= chunk.length) {
        sent += chunk.length;
        callback(null, chunk);
        return;
      }
      if (room > 0) this.push(chunk.subarray(0, room));
      sent = limit;
      cut = true;
      // FIN after a flush rather than RST: an RST may drop bytes still in the kernel's send buffer, and
      // tests that resume from a partial body need exactly `limit` bytes delivered.
      setImmediate(() => socket?.end(() => socket.destroy()));
      callback();
    },
  });
}

/** Pass `limit` bytes, then swallow the rest and never end: the client sees a body that goes silent. */
function stallAfter(limit: number): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const room = Math.max(0, limit - sent);
      sent += Math.min(room, chunk.length);
      callback(null, room > 0 ? chunk.subarray(0, room) : undefined);
    },
    flush() {
      // Never call back: the response is never finished.
    },
  });
}
