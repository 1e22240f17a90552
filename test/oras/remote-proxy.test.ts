/**
 * HTTP(S) proxies: which requests go through one (NO_PROXY rules, loopback), that they really do
 * (forwarded plain HTTP to the real registry, CONNECT tunnels for HTTPS with `insecure` kept), proxy
 * credentials, and errors that name the proxy without its credentials.
 */
import { mkdtemp, rm } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkError, UsageError } from "../../src/oras/errors.js";
import { noProxyMatcher, parseProxyUrl, proxyLabel, proxySelector, type ProxySettings } from "../../src/oras/remote/proxy.js";
import { RemoteRegistry } from "../../src/oras/remote/registry.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { descriptorOf, readAll } from "../support/content.js";
import { startHttpProxy, type HttpProxy } from "../support/http-proxy.js";
import { freePort, startRegistry, type RunningRegistry } from "../support/registry.js";
import { selfSignedCertificate } from "../support/tls.js";

const exempt = (list: string, url: string) => noProxyMatcher(list)(new URL(url));

describe("NO_PROXY", () => {
  it("matches a domain and its subdomains, with or without a leading dot or *., never a mere suffix", () => {
    for (const entry of ["example.com", ".example.com", "*.example.com", "EXAMPLE.com."]) {
      expect(exempt(entry, "https://example.com/v2/")).toBe(true);
      expect(exempt(entry, "https://reg.eu.example.com/v2/")).toBe(true);
      expect(exempt(entry, "https://notexample.com/v2/")).toBe(false);
    }
  });

  it("reads a comma or space separated list, and * exempts everything", () => {
    expect(exempt("foo.test, bar.test  baz.test", "https://baz.test")).toBe(true);
    expect(exempt("foo.test,,", "https://bar.test")).toBe(false);
    expect(exempt("foo.test,*", "https://anything.example")).toBe(true);
    expect(exempt("", "https://anything.example")).toBe(false);
  });

  it("matches a port only when the entry names one, using the scheme's default port", () => {
    expect(exempt("reg.test:5000", "https://reg.test:5000/v2/")).toBe(true);
    expect(exempt("reg.test:5000", "https://reg.test:5001/v2/")).toBe(false);
    expect(exempt("reg.test:443", "https://reg.test/v2/")).toBe(true);
    expect(exempt("reg.test:80", "https://reg.test/v2/")).toBe(false);
  });

  it("matches IP addresses exactly or by CIDR block, IPv4 and IPv6, never as domain suffixes", () => {
    expect(exempt("10.1.2.3", "http://10.1.2.3:5000")).toBe(true);
    expect(exempt("10.1.2.3", "http://10.1.2.4:5000")).toBe(false);
    expect(exempt("10.0.0.0/8", "http://10.200.0.1")).toBe(true);
    expect(exempt("10.0.0.0/8", "http://11.0.0.1")).toBe(false);
    expect(exempt("2.3", "http://10.1.2.3")).toBe(false);
    expect(exempt("fd00::/8", "https://[fd12::1]:5000")).toBe(true);
    expect(exempt("fd12::1", "https://[fd12::1]")).toBe(true);
    expect(exempt("[fd12::1]:5000", "https://[fd12::1]:5000")).toBe(true);
    expect(exempt("[fd12::1]:5000", "https://[fd12::1]:5001")).toBe(false);
    expect(exempt("10.0.0.0/33, bad:port, a*b.test", "http://10.0.0.1")).toBe(false);
  });
});

describe("proxySelector", () => {
  const http = new URL("http://proxy.test:3128");
  const secure = new URL("https://secure-proxy.test:3129");

  it("is undefined when no proxy is set, so requests pay nothing", () => {
    expect(proxySelector(undefined)).toBeUndefined();
    expect(proxySelector({ noProxy: "*" })).toBeUndefined();
  });

  it("picks the proxy by the request's scheme and leaves loopback and NO_PROXY hosts direct", () => {
    const select = proxySelector({ http, https: secure, noProxy: "internal.test" })!;
    expect(select(new URL("http://reg.test/v2/"))).toBe(http);
    expect(select(new URL("https://reg.test/v2/"))).toBe(secure);
    expect(select(new URL("https://reg.internal.test/v2/"))).toBeUndefined();
    for (const loopback of ["http://localhost:5000/", "http://127.0.0.1:5000/", "http://127.8.9.10/", "https://[::1]:5000/"]) {
      expect(select(new URL(loopback))).toBeUndefined();
    }
    expect(proxySelector({ http })!(new URL("https://reg.test/v2/"))).toBeUndefined();
  });
});

describe("parseProxyUrl", () => {
  it("takes host:port as http://host:port and keeps credentials out of its label", () => {
    expect(parseProxyUrl("proxy.test:3128", "HTTPS_PROXY").href).toBe("http://proxy.test:3128/");
    const withCredentials = parseProxyUrl(" http://user:s%40cret@proxy.test:3128/ ", "HTTPS_PROXY");
    expect(withCredentials.password).toBe("s%40cret");
    expect(proxyLabel(withCredentials)).toBe("http://proxy.test:3128");
  });

  it("refuses other schemes and nonsense, naming the variable and never quoting it", () => {
    expect(() => parseProxyUrl("socks5://user:secret@proxy.test:1080", "ALL")).toThrow(/^ALL names a socks5 proxy; only http and https proxies are supported$/);
    let err: unknown;
    try {
      parseProxyUrl("http://user:secret@[bad", "HTTPS_PROXY");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toBe("HTTPS_PROXY is not a proxy URL");
  });
});

let registry: RunningRegistry;
let proxy: HttpProxy;
let authProxy: HttpProxy;
/** A name only the proxies can resolve: a request that reaches the registry under it went through one. */
let viaName: string;

const PROXY_USER = "proxy-user";
const PROXY_PASSWORD = "proxy-s3cret";

beforeAll(async () => {
  registry = await startRegistry();
  viaName = `registry.kit.test:${registry.port}`;
  proxy = await startHttpProxy({ routes: { [viaName]: registry.host } });
  authProxy = await startHttpProxy({ routes: { [viaName]: registry.host }, credentials: { user: PROXY_USER, password: PROXY_PASSWORD } });
});

afterAll(async () => {
  await Promise.all([proxy?.stop(), authProxy?.stop()]);
  await registry?.stop();
});

function through(settings: ProxySettings) {
  return { plainHttp: true, proxy: settings, retry: { maxAttempts: 1 } };
}

describe("plain HTTP through a forwarding proxy, against the real registry", () => {
  it("pushes and fetches a blob with every request forwarded by the proxy", async () => {
    const before = proxy.count({ kind: "forward" });
    const repo = new RemoteRepository({ registry: viaName, repository: "proxy/blobs" }, through({ http: new URL(proxy.url) }));
    const bytes = Buffer.from("through the proxy and back");
    const desc = descriptorOf(bytes);
    await repo.push(desc, Readable.from([bytes]));
    expect(await readAll(await repo.fetch(desc))).toEqual(bytes);
    expect(proxy.count({ kind: "forward" }) - before).toBeGreaterThanOrEqual(3);
    expect(proxy.count({ kind: "tunnel" })).toBe(0);
  });

  it("sends the credentials of the proxy URL as Proxy-Authorization", async () => {
    const url = new URL(authProxy.url);
    url.username = PROXY_USER;
    url.password = PROXY_PASSWORD;
    await new RemoteRegistry(viaName, through({ http: url })).ping();
    expect(authProxy.requests.at(-1)).toMatchObject({ kind: "forward", status: 200 });
  });

  it("explains a 407 without quoting the credentials", async () => {
    const url = new URL(authProxy.url);
    url.username = PROXY_USER;
    url.password = "wrong-s3cret";
    const err = (await new RemoteRegistry(viaName, through({ http: url })).ping().catch((e: unknown) => e)) as NetworkError;
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.message).toBe(`the proxy ${authProxy.url} refused the request for ${viaName}: proxy authentication required (407)`);
    expect(err.hint).toBe("the proxy did not accept the credentials in its URL");
    expect(JSON.stringify({ message: err.message, hint: err.hint })).not.toMatch(/s3cret|proxy-user/);
    const none = (await new RemoteRegistry(viaName, through({ http: new URL(authProxy.url) })).ping().catch((e: unknown) => e)) as NetworkError;
    expect(none.hint).toContain("user name and password in its URL");
  });

  it("leaves a loopback registry direct even with a proxy set", async () => {
    const before = proxy.requests.length;
    await new RemoteRegistry(registry.host, { proxy: { http: new URL(proxy.url) } }).ping();
    expect(proxy.requests.length).toBe(before);
  });

  it("names an unreachable proxy, not the registry, and never its credentials", async () => {
    const closed = new URL(`http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${await freePort()}`);
    const err = (await new RemoteRegistry(viaName, through({ http: closed })).ping().catch((e: unknown) => e)) as NetworkError;
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.message).toBe(`cannot reach the proxy http://127.0.0.1:${closed.port} for ${viaName}: connection refused`);
    expect(err.hint).toContain("NO_PROXY");
    expect(`${err.message} ${err.hint}`).not.toMatch(/s3cret|proxy-user/);
  });

  it("passes on the 502 a forwarding proxy answers when it cannot reach the registry", async () => {
    const err = (await new RemoteRegistry("elsewhere.kit.test:5000", through({ http: new URL(proxy.url) })).ping().catch((e: unknown) => e)) as Error;
    // A forwarding proxy answers 502 itself: the registry client reports it as the answer it got.
    expect(err.message).toContain("502");
  });
});

describe("HTTPS through a CONNECT tunnel", () => {
  let dir: string;
  let tlsServer: https.Server;
  let tunnelProxy: HttpProxy;
  const tlsName = "secure.kit.test:443";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kit-proxy-tls-"));
    tlsServer = https.createServer(await selfSignedCertificate(dir, "secure.kit.test"), (_req, res) => {
      res.writeHead(200, { "docker-distribution-api-version": "registry/2.0", "content-type": "application/json", "content-length": "2" });
      res.end("{}");
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
    tunnelProxy = await startHttpProxy({
      routes: { [tlsName]: `127.0.0.1:${(tlsServer.address() as { port: number }).port}` },
      credentials: { user: PROXY_USER, password: PROXY_PASSWORD },
    });
  });

  afterAll(async () => {
    await tunnelProxy?.stop();
    tlsServer?.closeAllConnections();
    await new Promise((resolve) => tlsServer?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const tunnelUrl = () => {
    const url = new URL(tunnelProxy.url);
    url.username = PROXY_USER;
    url.password = PROXY_PASSWORD;
    return url;
  };

  it("tunnels with CONNECT, authenticating to the proxy, and keeps insecure for the registry's certificate", async () => {
    await new RemoteRegistry("secure.kit.test", { proxy: { https: tunnelUrl() }, insecure: true }).ping();
    expect(tunnelProxy.requests.at(-1)).toMatchObject({ kind: "tunnel", target: tlsName, status: 200 });
  });

  it("still verifies the registry's certificate through the tunnel without insecure", async () => {
    const err = (await new RemoteRegistry("secure.kit.test", { proxy: { https: tunnelUrl() }, retry: { maxAttempts: 1 } }).ping().catch((e: unknown) => e)) as NetworkError;
    expect(err.message).toMatch(/^cannot reach secure\.kit\.test: TLS certificate not trusted/);
  });

  it("says the proxy could not connect when it refuses the tunnel", async () => {
    const err = (await new RemoteRegistry("other.kit.test", { proxy: { https: tunnelUrl() }, retry: { maxAttempts: 1 } }).ping().catch((e: unknown) => e)) as NetworkError;
    expect(err.message).toBe(`the proxy ${tunnelProxy.url} could not connect to other.kit.test (it answered 502)`);
  });

  it("explains a refused tunnel for want of credentials", async () => {
    const err = (await new RemoteRegistry("secure.kit.test", { proxy: { https: new URL(tunnelProxy.url) }, insecure: true, retry: { maxAttempts: 1 } })
      .ping()
      .catch((e: unknown) => e)) as NetworkError;
    expect(err.message).toBe(`the proxy ${tunnelProxy.url} refused the request for secure.kit.test: proxy authentication required (407)`);
  });
});
