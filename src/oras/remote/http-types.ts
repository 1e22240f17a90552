/**
 * The types of the registry client's HTTP core (http.ts), shared by its two
 * transports (node-transport.ts, undici-send.ts) and its layers.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { ProxySettings } from "./proxy.js";
import type { Timeouts } from "./timeouts.js";

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

/** A Node Readable from either transport. */
export type ResponseBody = Readable;

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

/** The limits each request is sent under. */
export type RequestTimeouts = Pick<Timeouts, "connectMs" | "headersMs" | "idleBodyMs">;
