/**
 * A small real HTTP proxy, the kind HTTP_PROXY / HTTPS_PROXY name, for proving that a client goes
 * through it: it forwards absolute-URL requests (`GET http://host/path`) and opens CONNECT tunnels,
 * counting both. It reaches only the hosts in `routes`, mapping each name the client uses to a
 * loopback address (a registry started by test/support/registry.ts), so a request that reaches the
 * registry cannot have gone around the proxy: the client cannot resolve those names itself.
 *
 *   const proxy = await startHttpProxy({ routes: { [`registry.kit.test:${registry.port}`]: registry.host } });
 *   ... HTTP_PROXY=proxy.url kit pull --plain-http registry.kit.test:PORT/repo:tag ...
 *   expect(proxy.count({ kind: "forward" })).toBeGreaterThan(0);
 *   afterAll(async () => { await proxy?.stop(); });
 *
 * With `credentials`, every request and tunnel must carry the matching Basic Proxy-Authorization
 * (else 407); it is never passed on to the registry.
 */
import http from "node:http";
import net from "node:net";
import { pipeline } from "node:stream";
import { HOP_BY_HOP } from "./fault-proxy.js";

export interface HttpProxyOptions {
  /** "name:port" as the client asks for it -> "127.0.0.1:PORT" where it really is. Others get 502. */
  routes: Record<string, string>;
  /** Demand Basic Proxy-Authorization with these credentials. */
  credentials?: { user: string; password: string };
}

export interface ProxiedRequest {
  kind: "forward" | "tunnel";
  /** GET, PUT, …; CONNECT for tunnels. */
  method: string;
  /** host:port asked for. */
  target: string;
  /** Path and query (forwarded requests only). */
  path?: string;
  /** The Proxy-Authorization header as received, if any. */
  proxyAuthorization?: string;
  status: number;
}

export interface HttpProxy {
  /** "http://127.0.0.1:PORT" */
  url: string;
  port: number;
  requests: ProxiedRequest[];
  count(filter?: { kind?: ProxiedRequest["kind"]; status?: number }): number;
  stop(): Promise<void>;
}

export async function startHttpProxy(opts: HttpProxyOptions): Promise<HttpProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const expected = opts.credentials && `Basic ${Buffer.from(`${opts.credentials.user}:${opts.credentials.password}`).toString("base64")}`;
  const authorised = (header: string | undefined) => expected === undefined || header === expected;
  const record = (entry: ProxiedRequest) => requests.push(entry);

  const server = http.createServer((req, res) => {
    const proxyAuthorization = req.headers["proxy-authorization"];
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400).end("not a proxy request");
      return;
    }
    const entry: ProxiedRequest = { kind: "forward", method: req.method ?? "GET", target: target.host, path: target.pathname + target.search, status: 0 };
    if (proxyAuthorization !== undefined) entry.proxyAuthorization = proxyAuthorization;
    record(entry);
    if (!authorised(proxyAuthorization)) {
      entry.status = 407;
      res.writeHead(407, { "proxy-authenticate": 'Basic realm="kit-test-proxy"', "content-length": "0" }).end();
      return;
    }
    const upstream = opts.routes[hostPort(target)];
    if (upstream === undefined) {
      entry.status = 502;
      res.writeHead(502, { "content-length": "0" }).end();
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && name !== "proxy-connection" && value !== undefined) headers[name] = value;
    }
    const [host, port] = splitHostPort(upstream);
    const upstreamReq = http.request({ host, port, method: req.method, path: entry.path, headers });
    upstreamReq.on("response", (up) => {
      entry.status = up.statusCode ?? 502;
      const responseHeaders: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) responseHeaders[name] = value;
      }
      res.writeHead(entry.status, responseHeaders);
      pipeline(up, res, () => {});
    });
    upstreamReq.on("error", () => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { "content-length": "0" });
      res.end();
    });
    pipeline(req, upstreamReq, () => {});
  });

  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const proxyAuthorization = req.headers["proxy-authorization"];
    const asked = req.url ?? "";
    const entry: ProxiedRequest = { kind: "tunnel", method: "CONNECT", target: asked, status: 0 };
    if (proxyAuthorization !== undefined) entry.proxyAuthorization = proxyAuthorization;
    record(entry);
    client.on("error", () => {});
    if (!authorised(proxyAuthorization)) {
      entry.status = 407;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="kit-test-proxy"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = opts.routes[asked];
    if (upstream === undefined) {
      entry.status = 502;
      client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const [host, port] = splitHostPort(upstream);
    const server = net.connect({ host, port }, () => {
      entry.status = 200;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) server.write(head);
      client.pipe(server).pipe(client);
    });
    sockets.add(server);
    server.on("close", () => sockets.delete(server));
    server.on("error", () => {
      if (entry.status === 0) {
        entry.status = 502;
        client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      } else client.destroy();
    });
  });

  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    count: (filter = {}) =>
      requests.filter((r) => (filter.kind === undefined || r.kind === filter.kind) && (filter.status === undefined || r.status === filter.status)).length,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** host:port with the scheme's default port filled in, as CONNECT names it. */
function hostPort(url: URL): string {
  return `${url.hostname}:${url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80"}`;
}

function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}
