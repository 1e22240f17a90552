/**
 * Requests through undici: through an HTTP proxy (undici's ProxyAgent, which
 * node:http lacks), or through a dispatcher the caller gave. Loaded on first
 * use from http.ts, so runs that connect directly never load undici.
 */
import { setFlagsFromString } from "node:v8";
import type { Dispatcher } from "undici";
// undici's index also loads fetch, WebSocket, mocks and caches: ~55 ms of start-up for code we never call.
// request() is all we need, and it works on any Dispatcher.
import undiciApi from "undici/lib/api/index.js";
import type { AgentOptions, RequestTimeouts, Send } from "./http-types.js";
import { KEEP_ALIVE_MS, MAX_SOCKETS } from "./node-transport.js";
import { createProxyAgent } from "./proxy-agent.js";
import { DEFAULT_TIMEOUTS } from "./timeouts.js";
import { transportFailure } from "./transport-errors.js";

/**
 * Pool settings of connections through a proxy, as for direct ones (node-transport.ts). Header and body limits are
 * set per request, not here.
 */
const POOL_OPTIONS = { connections: MAX_SOCKETS, keepAliveTimeout: KEEP_ALIVE_MS } as const;

/** TLS settings of a connection through a proxy to the registry. */
function tlsOptions(opts: AgentOptions): { timeout: number; rejectUnauthorized?: false } {
  const timeout = opts.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs;
  return opts.insecure ? { timeout, rejectUnauthorized: false } : { timeout };
}

// undici parses HTTP with a WebAssembly build of llhttp, compiled at its first connection (after this line runs).
// V8 re-compiles it with its optimising tier in the background, and a process cannot exit until that job ends:
// ~200 ms on every command that used undici, for code that only ever parses a few headers. Baseline is plenty.
setFlagsFromString("--liftoff-only");

const proxyAgents = new Map<string, Dispatcher>();

/** The process-wide dispatcher through `proxy`, one per TLS mode and connect limit. */
function sharedProxyAgent(proxy: URL, opts: AgentOptions): Dispatcher {
  const tls = tlsOptions(opts);
  const key = `${opts.insecure ? "insecure" : "verified"} connect=${tls.timeout} ${proxy.href}`;
  let agent = proxyAgents.get(key);
  if (agent === undefined) {
    agent = createProxyAgent(proxy, POOL_OPTIONS, tls);
    proxyAgents.set(key, agent);
  }
  return agent;
}

export async function closeProxyAgents(): Promise<void> {
  const all = [...proxyAgents.values()];
  proxyAgents.clear();
  await Promise.all(all.map((a) => a.close()));
}

/** The innermost Send through `proxy`, which the errors it raises name. */
export function proxySend(proxy: URL, opts: AgentOptions, timeouts: RequestTimeouts): Send {
  return undiciSend(sharedProxyAgent(proxy, opts), timeouts, proxy);
}

/**
 * One HTTP exchange through undici, with the header and idle-body limits;
 * connection failures and timeouts become NetworkError (http.ts).
 * `via`: the proxy the dispatcher goes through, named in those errors.
 */
export function undiciSend(dispatcher: Dispatcher, timeouts: RequestTimeouts, via?: URL): Send {
  return async (req) => {
    try {
      const res = await undiciApi.request.call(dispatcher, {
        origin: req.url.origin,
        path: req.url.pathname + req.url.search,
        method: req.method,
        headers: req.headers,
        body: (typeof req.body === "function" ? req.body() : req.body) ?? null,
        signal: req.signal,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.idleBodyMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, method: req.method, url: req.url, idleBodyMs: timeouts.idleBodyMs };
    } catch (err) {
      throw transportFailure(req, err, timeouts, via);
    }
  };
}
