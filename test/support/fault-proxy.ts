/**
 * A streaming reverse proxy in front of a real registry that injects faults on request, for retry,
 * integrity, timeout and redirect tests:
 *
 *   const proxy = await startFaultProxy({ upstream: registry });
 *   const rule = proxy.addRule({ method: "GET", path: /\/blobs\//, times: 2, status: 503, headers: { "Retry-After": "1" } });
 *   ... pull through proxy.host ...
 *   expect(rule.fired).toBe(2);
 *   expect(proxy.count({ method: "GET", path: /\/blobs\// })).toBe(3);
 *   afterAll(async () => { await proxy?.stop(); });
 *
 * Rules are tried in order; the first one that matches (method, regexp on path+query, listener) and has
 * not used up `times` fires. What a rule does, in order of precedence (after any `delayMs`):
 *   status          answer it here (the request body is drained first) without asking the registry
 *   resetConnection reset the TCP connection before any response
 *   redirectTo      307 to the blob on a second listener ("other-origin": another port, so another origin,
 *                   like a CDN with a presigned URL) or back to this one ("same-origin")
 *   otherwise forward to the registry and then apply any of: replaceHeader, contentLength,
 *   dropContentLength, extraBytes, corruptBody, stallAfterBytes, resetAfterBytes
 *
 * Chaos mode (`proxy.chaos({ seed, probability })`): every request no rule claimed gets, with probability
 * p, one fault drawn from a list of kinds (FAULT_KINDS) by a seeded PRNG, so a run is reproducible given
 * the seed and the order requests arrive; `chaos.injected` counts the faults by kind. Body faults act at a
 * drawn point of the body the registry sends.
 *
 * Requests are forwarded with their headers, Range included, so the registry answers resumed downloads
 * with 206 and every body fault applies to a partial body just as to a whole one.
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
import { Duplex, pipeline, Transform, type TransformCallback } from "node:stream";
import { pseudoRandomStream } from "./images.js";
import { seededRandom } from "./random.js";

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
  /**
   * Wait this long before acting: a stall before the response headers (exercises client timeouts).
   * Infinity: until the client gives up and closes the connection (or the proxy stops).
   */
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
  /**
   * Declare this Content-Length instead of the registry's. Smaller than the body: the body is cut to it, a
   * short body that looks complete. Larger: the whole body is sent and then the connection closed.
   */
  contentLength?: number;
  /**
   * Send the body with neither Content-Length nor chunking, delimited by closing the connection (as
   * HTTP/1.0 did), so a body cut short by resetAfterBytes looks complete to the client.
   */
  dropContentLength?: boolean;
  /**
   * Append this many pseudo-random bytes after the registry's body: an oversized body (sent chunked,
   * without Content-Length, unless dropContentLength). Infinity: an endless body, until the client gives up.
   */
  extraBytes?: number;
  /** Flip one byte of the response body (length unchanged). */
  corruptBody?: boolean;
  /** Which byte corruptBody flips; default 0. */
  corruptAt?: number;
  /** Send this many body bytes, then pause for stallMs before sending the rest. */
  stallAfterBytes?: number;
  /** How long stallAfterBytes pauses; default Infinity (until the client gives up). */
  stallMs?: number;
  /** Send the response head and exactly this many body bytes, then close the connection mid-response. */
  resetAfterBytes?: number;
  /**
   * How resetAfterBytes ends the connection: "close" (default) is a FIN once the bytes are flushed, so
   * exactly that many arrive; "reset" is a TCP RST (ECONNRESET at the client; bytes in flight may be lost).
   */
  resetWith?: "close" | "reset";
}

export interface ActiveRule {
  readonly rule: FaultRule;
  /** How many times it has fired so far. */
  readonly fired: number;
  /** Stop it from firing again. */
  remove(): void;
}

/** What chaos mode can do to a request. */
export const FAULT_KINDS = [
  "status-500",
  "status-503",
  "status-503-retry-after",
  "status-429",
  "status-429-retry-after",
  "reset-before-headers",
  "reset-mid-body",
  "stall-before-headers",
  "stall-mid-body",
  "truncate",
  "truncate-undeclared",
  "flip-byte",
  "lie-digest",
  "lie-length",
  "redirect-other-origin",
  "oversized-body",
  "endless-body",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Kinds that change the response body: only GETs have one worth changing. */
const BODY_KINDS: ReadonlySet<FaultKind> = new Set([
  "reset-mid-body",
  "stall-mid-body",
  "truncate",
  "truncate-undeclared",
  "flip-byte",
  "lie-length",
  "oversized-body",
  "endless-body",
]);
/** Kinds that only make sense for reads. */
const READ_KINDS: ReadonlySet<FaultKind> = new Set(["lie-digest", "redirect-other-origin"]);

export interface ChaosOptions {
  seed: number;
  /** Chance in [0, 1] that a matching request gets a fault. */
  probability: number;
  /** Kinds to draw from; default all of FAULT_KINDS. A request draws among the kinds that apply to its method. */
  kinds?: readonly FaultKind[];
  /** Only requests with this method are eligible; any if omitted. */
  method?: string;
  /** Only requests whose path and query match are eligible; all if omitted. */
  path?: RegExp;
  /** How long the stall kinds stall; default 2000 ms. Infinity: until the client gives up. */
  stallMs?: number;
  /** Retry-After of the *-retry-after kinds, in seconds; default 1. */
  retryAfterSeconds?: number;
}

export interface Chaos {
  readonly seed: number;
  /** Requests that were eligible. */
  readonly eligible: number;
  /** Faults that took effect, by kind. */
  readonly injected: Readonly<Record<FaultKind, number>>;
  /** Sum of `injected`. */
  readonly total: number;
  /** Faults drawn for a response that had nothing for them to act on (a body fault on an empty body). */
  readonly skipped: number;
  /** Stop injecting. */
  stop(): void;
}

export interface ProxyRequestRecord {
  listener: Listener;
  method: string;
  /** Path and query as received (tickets included). */
  url: string;
  hasAuthorization: boolean;
  /** The request's Range header, if any (a resumed download). */
  range: string | undefined;
  /** The rule that fired for this request, if any. */
  rule: ActiveRule | undefined;
  /** The fault chaos mode drew for this request, if any. */
  fault: FaultKind | undefined;
  /** Status sent to the client; undefined if the connection was reset (or the client gave up) before a response. */
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
  /** Start seeded random faults (replacing any chaos already running); rules still take precedence. */
  chaos(opts: ChaosOptions): Chaos;
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

/**
 * What happens to one request: a rule known up front, and for chaos body faults a rule made once the
 * registry's answer shows how long the body is (undefined: nothing to act on).
 */
interface Plan {
  rule: FaultRule | undefined;
  atResponse?: (status: number, length: number | undefined) => FaultRule | undefined;
}

class ChaosState implements Chaos {
  readonly injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  eligible = 0;
  skipped = 0;
  stopped = false;
  private readonly random: () => number;
  private readonly kinds: readonly FaultKind[];

  constructor(private readonly opts: ChaosOptions) {
    this.random = seededRandom(opts.seed);
    this.kinds = opts.kinds ?? FAULT_KINDS;
    if (!(opts.probability >= 0 && opts.probability <= 1)) throw new Error(`chaos probability ${opts.probability} is not in [0, 1]`);
  }

  get seed(): number {
    return this.opts.seed;
  }
  get total(): number {
    return Object.values(this.injected).reduce((a, b) => a + b, 0);
  }
  stop(): void {
    this.stopped = true;
  }

  /** Draw for one request: always three numbers, so one request's kind never shifts the next one's draws. */
  draw(listener: Listener, method: string, url: string): { kind: FaultKind; plan: Plan } | undefined {
    const o = this.opts;
    if (this.stopped || listener !== "main") return undefined;
    if ((o.method !== undefined && o.method.toUpperCase() !== method) || (o.path !== undefined && !o.path.test(url))) return undefined;
    this.eligible++;
    const [hit, which, where] = [this.random(), this.random(), this.random()];
    if (hit >= o.probability) return undefined;
    const applicable = this.kinds.filter(
      (k) => (!BODY_KINDS.has(k) || method === "GET") && (!READ_KINDS.has(k) || method === "GET" || method === "HEAD"),
    );
    if (applicable.length === 0) return undefined;
    const kind = applicable[Math.floor(which * applicable.length)]!;
    const plan = this.planFor(kind, where);
    if (plan.atResponse === undefined) {
      this.injected[kind]++;
      return { kind, plan };
    }
    const make = plan.atResponse;
    plan.atResponse = (status, length) => {
      const rule = make(status, length);
      if (rule === undefined) this.skipped++;
      else this.injected[kind]++;
      return rule;
    };
    return { kind, plan };
  }

  /** The rule for `kind`; `u` in [0, 1) places a body fault within the body. */
  private planFor(kind: FaultKind, u: number): Plan {
    const stallMs = this.opts.stallMs ?? 2000;
    const retryAfter = { "Retry-After": String(this.opts.retryAfterSeconds ?? 1) };
    const base = { path: /./ };
    const failure = (status: number, code: string, headers: Record<string, string> = {}): Plan => ({
      rule: {
        ...base,
        status,
        headers: { "Content-Type": "application/json", ...headers },
        body: JSON.stringify({ errors: [{ code, message: `fault proxy: injected ${status}` }] }),
      },
    });
    /** A body fault at offset u·length; nothing to act on in an empty body. */
    const inBody = (make: (offset: number, length: number) => FaultRule): Plan => ({
      rule: undefined,
      atResponse: (_status, length) => (length === undefined || length === 0 ? undefined : make(Math.floor(u * length), length)),
    });
    switch (kind) {
      case "status-500":
        return failure(500, "UNKNOWN");
      case "status-503":
        return failure(503, "UNAVAILABLE");
      case "status-503-retry-after":
        return failure(503, "UNAVAILABLE", retryAfter);
      case "status-429":
        return failure(429, "TOOMANYREQUESTS");
      case "status-429-retry-after":
        return failure(429, "TOOMANYREQUESTS", retryAfter);
      case "reset-before-headers":
        return { rule: { ...base, resetConnection: true } };
      case "stall-before-headers":
        return { rule: { ...base, delayMs: stallMs } };
      case "redirect-other-origin":
        return { rule: { ...base, redirectTo: "other-origin" } };
      case "lie-digest":
        return { rule: { ...base, replaceHeader: { "Docker-Content-Digest": `sha256:${randomHex(u)}` } } };
      case "reset-mid-body":
        return inBody((at) => ({ ...base, resetAfterBytes: at, resetWith: "reset" }));
      case "stall-mid-body":
        return inBody((at) => ({ ...base, stallAfterBytes: at, stallMs }));
      case "truncate":
        return inBody((at) => ({ ...base, resetAfterBytes: at }));
      case "truncate-undeclared":
        return inBody((at) => ({ ...base, resetAfterBytes: at, dropContentLength: true }));
      case "flip-byte":
        return inBody((at) => ({ ...base, corruptBody: true, corruptAt: at }));
      case "lie-length":
        // Half the draws claim fewer bytes than the body, half claim more.
        return inBody((at, length) => ({ ...base, contentLength: u < 0.5 ? at : length + 1 + at }));
      case "oversized-body":
        return inBody((_at, length) => ({ ...base, extraBytes: length + 1 }));
      case "endless-body":
        return inBody(() => ({ ...base, extraBytes: Infinity }));
    }
  }
}

/** 64 hex digits that are not the digest of anything served (derived from the draw, so reproducible). */
function randomHex(u: number): string {
  const random = seededRandom(Math.floor(u * 2 ** 32));
  return Array.from({ length: 64 }, () => Math.floor(random() * 16).toString(16)).join("");
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
  let chaos: ChaosState | undefined;
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
    plan: Plan,
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
      const status = up.statusCode ?? 502;
      const responseHeaders: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) responseHeaders[name] = value;
      }
      const hasBody = req.method !== "HEAD" && status !== 204 && status !== 304;
      const declared = typeof up.headers["content-length"] === "string" ? Number(up.headers["content-length"]) : undefined;
      const rule = plan.atResponse === undefined ? plan.rule : hasBody ? plan.atResponse(status, declared) : plan.atResponse(status, 0);
      for (const [name, value] of Object.entries(rule?.replaceHeader ?? {})) {
        responseHeaders[name.toLowerCase()] = value;
      }
      const stages: NodeJS.ReadWriteStream[] = [];
      let closeAfterBody = false;
      if (rule?.contentLength !== undefined) {
        responseHeaders["content-length"] = String(rule.contentLength);
        if (declared === undefined || rule.contentLength < declared) stages.push(firstBytes(rule.contentLength));
        else closeAfterBody = rule.contentLength > declared;
      }
      if (rule?.extraBytes !== undefined) {
        delete responseHeaders["content-length"];
        stages.push(Duplex.from(withExtraBytes(rule.extraBytes)));
      }
      if (rule?.dropContentLength) {
        delete responseHeaders["content-length"];
        // Node then neither chunks nor keeps the connection: the body ends when the connection does.
        res.useChunkedEncodingByDefault = false;
      }
      if (rule?.corruptBody) stages.push(flipByteAt(rule.corruptAt ?? 0));
      if (rule?.stallAfterBytes !== undefined) stages.push(stallAfter(rule.stallAfterBytes, rule.stallMs ?? Infinity));
      if (rule?.resetAfterBytes !== undefined) stages.push(cutAfter(rule.resetAfterBytes, res.socket, rule.resetWith ?? "close"));
      record.status = status;
      res.writeHead(status, responseHeaders);
      // A cut after 0 bytes still sends the head, which Node would otherwise hold back for the first chunk.
      if (rule?.resetAfterBytes !== undefined) res.flushHeaders();
      // Kept now: a finished response lets go of its socket.
      const socket = res.socket;
      pipeline([up, ...stages, res], (err) => {
        // Errors here mean one side went away; nothing useful to report to the other.
        if (err === undefined && closeAfterBody) socket?.end();
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
      fault: undefined,
      status: undefined,
    };
    requests.push(record);

    const parsed = new URL(url, "http://proxy.invalid");
    const ticketId = parsed.searchParams.get(TICKET_PARAM);
    // A redirected request must not be redirected again by the rule (or chaos) that sent it here.
    const redirected = listener === "main" && ticketId !== null;
    const state = redirected ? undefined : rules.find((r) => r.matches(listener, method, url));
    let plan: Plan = { rule: state?.rule };
    if (state !== undefined) {
      state.fired++;
      record.rule = state;
    } else if (!redirected && chaos !== undefined) {
      const drawn = chaos.draw(listener, method, url);
      if (drawn !== undefined) {
        record.fault = drawn.kind;
        plan = drawn.plan;
      }
    }
    const rule = plan.rule;
    if (rule?.delayMs !== undefined && !(await pause(rule.delayMs, res))) return;

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
      forward(req, res, record, ticket.path, headers, plan);
      return;
    }

    let path = url;
    if (ticketId !== null) {
      const ticket = tickets.get(ticketId);
      path = ticket?.path ?? parsed.pathname;
    }
    forward(req, res, record, path, forwardHeaders(req), plan);
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
    chaos(chaosOpts) {
      chaos?.stop();
      chaos = new ChaosState(chaosOpts);
      return chaos;
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
        chaos?.stop();
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

/** Wait `ms` (Infinity: for ever); false as soon as the client has gone (it gave up, or the proxy stopped). */
function pause(ms: number, res: http.ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed) {
      resolve(false);
      return;
    }
    const timer = Number.isFinite(ms) ? setTimeout(() => done(true), ms) : undefined;
    const onClose = () => done(false);
    const done = (connected: boolean) => {
      clearTimeout(timer);
      res.off("close", onClose);
      resolve(connected);
    };
    res.once("close", onClose);
  });
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

/** The first `limit` bytes; the rest is read from the registry and thrown away. */
function firstBytes(limit: number): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const room = Math.max(0, limit - sent);
      sent += Math.min(room, chunk.length);
      callback(null, room >= chunk.length ? chunk : chunk.subarray(0, room));
    },
  });
}

/** The body, then `extra` pseudo-random bytes (Infinity: never ends), at the pace the client reads. */
function withExtraBytes(extra: number): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* (source) {
    for await (const chunk of source) yield chunk;
    if (extra > 0) yield* pseudoRandomStream("fault-proxy/extra-bytes", extra) as AsyncIterable<Buffer>;
  };
}

/** Pass `after` bytes, hold the rest back for `ms` (Infinity: until the stream is torn down), then go on. */
function stallAfter(after: number, ms: number): Transform {
  let position = 0;
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const room = after - position;
      position += chunk.length;
      if (stalled || room >= chunk.length) {
        callback(null, chunk);
        return;
      }
      stalled = true;
      if (room > 0) this.push(chunk.subarray(0, room));
      const rest = chunk.subarray(Math.max(0, room));
      if (Number.isFinite(ms)) timer = setTimeout(() => callback(null, rest), ms);
      // Infinity: the callback is never called; pipeline destroys us when the client leaves.
    },
    destroy(err, callback) {
      clearTimeout(timer);
      callback(err);
    },
  });
}

function cutAfter(limit: number, socket: net.Socket | null, how: "close" | "reset"): Transform {
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
      // "close" is a FIN after a flush: tests that resume from a partial body need exactly `limit` bytes
      // delivered. A RST drops whatever the peer has not read yet, so "reset" waits for the flush and a
      // moment more, to deliver the bytes before the reset in most runs (not all: that is what RST does).
      setImmediate(() => {
        if (socket === null) return;
        if (how === "close") socket.end(() => socket.destroy());
        else socket.write("", () => setTimeout(() => resetSocket(socket), 20));
      });
      callback();
    },
  });
}
