/**
 * Which requests go through an HTTP proxy: the rules of the HTTP_PROXY,
 * HTTPS_PROXY and NO_PROXY conventions (curl, Go, docker), as data. Reading the
 * environment is the caller's business; this module only interprets settings.
 *
 * - A request's scheme picks the proxy: http: requests use `http`, https: requests `https`.
 * - Loopback hosts (localhost, 127.0.0.0/8, [::1]) are always reached directly, as
 *   Go's net/http (docker, oras, helm) does: the proxy's loopback is not ours.
 *   curl would proxy them unless NO_PROXY lists them.
 * - `noProxy` is a comma- (or space-) separated list: `*` (no proxy at all); a domain
 *   (`example.com`, `.example.com` and `*.example.com` all mean the domain and its
 *   subdomains, as in curl); an IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`);
 *   each optionally with `:PORT` (`[::1]:5000` for IPv6), matching only that port.
 */
import { BlockList, isIP } from "node:net";
import { isLoopbackRegistry } from "../reference.js";
import { UsageError } from "../errors.js";

export interface ProxySettings {
  /** Proxy for http: requests (HTTP_PROXY). */
  http?: URL;
  /** Proxy for https: requests (HTTPS_PROXY). */
  https?: URL;
  /** Hosts reached directly, in NO_PROXY syntax. */
  noProxy?: string;
}

/** Picks the proxy for a request URL, or undefined to connect directly. */
export type ProxySelector = (url: URL) => URL | undefined;

/**
 * A proxy address as the variables hold it: a URL with scheme http or https
 * (`proxy:3128` means `http://proxy:3128`, as in curl and Go), optionally with
 * credentials. `name` says where it came from, for the error: the text itself
 * is never quoted, since it may hold a password.
 */
export function parseProxyUrl(text: string, name: string): URL {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`);
  } catch {
    throw new UsageError(`${name} is not a proxy URL`, { hint: "expected http://HOST:PORT (or http://USER:PASSWORD@HOST:PORT)" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${name} names a ${url.protocol.slice(0, -1)} proxy; only http and https proxies are supported`);
  }
  if (url.hostname === "") throw new UsageError(`${name} is not a proxy URL: it names no host`);
  return url;
}

/** A proxy as it may be named in messages: scheme, host and port, never credentials or a path. */
export function proxyLabel(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** The Proxy-Authorization value for credentials in a proxy URL, or undefined when it has none. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === "" && proxy.password === "") return undefined;
  const pair = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
}

/** The selector for settings, or undefined when they name no proxy at all (the common case: no cost per request). */
export function proxySelector(settings: ProxySettings | undefined): ProxySelector | undefined {
  if (settings === undefined || (settings.http === undefined && settings.https === undefined)) return undefined;
  const bypass = noProxyMatcher(settings.noProxy ?? "");
  return (url) => {
    const proxy = url.protocol === "https:" ? settings.https : url.protocol === "http:" ? settings.http : undefined;
    if (proxy === undefined || isLoopbackRegistry(url.host) || bypass(url)) return undefined;
    return proxy;
  };
}

interface Entry {
  /** Lower-case domain without leading dots, or undefined for an address entry. */
  domain?: string;
  /** The address or block, for an address entry. */
  addresses?: BlockList;
  /** Only this port matches; any port when undefined. */
  port?: string;
}

/** Whether a URL is exempt from proxying under a NO_PROXY list. Entries that do not parse never match. */
export function noProxyMatcher(list: string): (url: URL) => boolean {
  const items = list.split(/[\s,]+/).filter((item) => item !== "");
  if (items.includes("*")) return () => true;
  const entries = items.flatMap((item) => parseEntry(item) ?? []);
  if (entries.length === 0) return () => false;
  return (url) => {
    const host = url.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
    const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
    const family = isIP(host);
    return entries.some((entry) => {
      if (entry.port !== undefined && entry.port !== port) return false;
      if (entry.addresses !== undefined) return family !== 0 && entry.addresses.check(host, family === 6 ? "ipv6" : "ipv4");
      return family === 0 && (host === entry.domain || host.endsWith(`.${entry.domain!}`));
    });
  };
}

function parseEntry(item: string): Entry | undefined {
  let host = item;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
  } else if ((item.match(/:/g) ?? []).length === 1) {
    const colon = item.indexOf(":");
    port = item.slice(colon + 1);
    host = item.slice(0, colon);
    if (!/^\d+$/.test(port)) return undefined;
  }
  const block = addressBlock(host);
  if (block !== undefined) return port === undefined ? { addresses: block } : { addresses: block, port };
  if (host.includes(":") || host.includes("/")) return undefined;
  const domain = host.replace(/^\*?\.+/, "").replace(/\.$/, "").toLowerCase();
  if (domain === "" || domain.includes("*")) return undefined;
  return port === undefined ? { domain } : { domain, port };
}

/** An IP address or CIDR block as a BlockList, or undefined when `text` is neither. */
function addressBlock(text: string): BlockList | undefined {
  const [address = "", prefix, extra] = text.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return undefined;
  const type = family === 6 ? "ipv6" : "ipv4";
  const list = new BlockList();
  if (prefix === undefined) {
    list.addAddress(address, type);
    return list;
  }
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (!(bits <= (family === 6 ? 128 : 32))) return undefined;
  list.addSubnet(address, bits, type);
  return list;
}
