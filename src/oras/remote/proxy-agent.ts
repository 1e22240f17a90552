/**
 * The dispatcher for requests through an HTTP proxy. Loaded only when a proxy
 * is configured (a dynamic import from http.ts): undici's proxy code is not
 * needed, and not paid for at start-up, by the many runs without one.
 *
 * Like curl and Go: http: requests are forwarded (absolute URL to the proxy,
 * which many proxies allow where they refuse CONNECT to ports other than 443);
 * https: requests go through a CONNECT tunnel, TLS end to end with the registry.
 */
import type { buildConnector, Dispatcher, Pool } from "undici";
import ProxyAgentClass from "undici/lib/dispatcher/proxy-agent.js";
import PoolClass from "undici/lib/dispatcher/pool.js";
import undiciApi from "undici/lib/api/index.js";
import { proxyAuthorization } from "./proxy.js";

/**
 * `pool` and `tls` are the settings of direct connections, so timeouts and
 * `insecure` mean the same through the proxy. The proxy's own certificate
 * (an https: proxy) is always verified.
 */
export function createProxyAgent(proxy: URL, pool: Pool.Options, tls: buildConnector.BuildOptions & { timeout: number }): Dispatcher {
  const token = proxyAuthorization(proxy);
  // Credentials travel as the Proxy-Authorization token only, never inside the URI undici keeps (and may show).
  const uri = `${proxy.protocol}//${proxy.host}`;
  return new ProxyAgentClass({
    ...pool,
    uri,
    ...(token === undefined ? {} : { token }),
    proxyTunnel: false,
    proxyTls: { timeout: tls.timeout },
    requestTls: tls,
    // Forwarding goes through a pool undici makes with its defaults unless told: give it ours.
    factory: (origin: string | URL, opts: object) => new PoolClass(origin, { ...pool, ...opts }),
    // The CONNECT client needs undici's connect(), which its index (not loaded: see http.ts) adds to every dispatcher.
    clientFactory: (origin: URL, opts: object) => Object.assign(new PoolClass(origin, opts), { connect: undiciApi.connect }),
  });
}
