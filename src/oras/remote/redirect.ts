/**
 * Redirects, followed by hand (undici is given none) so that credentials are
 * never sent to an origin other than the one the request was made to: blob
 * downloads are often redirected to a storage service or CDN, which must not
 * see the registry token.
 */
import { RegistryError } from "../errors.js";
import { MAX_REDIRECTS } from "../limits.js";
import { discard, header, isReplayable, sameOrigin, type HttpRequest, type Layer } from "./http.js";

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Headers that carry credentials; they stay with the original origin. */
const CREDENTIAL_HEADERS = ["authorization", "proxy-authorization", "cookie"];

export function isRedirect(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

export function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADERS.includes(name.toLowerCase())) out[name] = value;
  }
  return out;
}

/**
 * The request for the next hop: method per RFC 9110 (303, and 301/302 after a
 * POST, become a GET without body), credentials only when the target shares
 * the origin of the original request.
 */
export function redirectedRequest(req: HttpRequest, status: number, target: URL, originalOrigin: string): HttpRequest {
  const from = req.url;
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    throw new RegistryError(`${from.host} redirected to an unsupported URL scheme "${target.protocol}"`, status);
  }
  if (from.protocol === "https:" && target.protocol === "http:") {
    throw new RegistryError(`${from.host} redirected from HTTPS to plain HTTP (${target.host}); refusing to downgrade`, status);
  }
  let method = req.method;
  let body = req.body;
  let headers = sameOrigin(target, originalOrigin) ? { ...req.headers } : withoutCredentials(req.headers);
  if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
    method = "GET";
    body = undefined;
    const { "content-type": _type, "content-length": _length, "content-range": _range, ...rest } = headers;
    headers = rest;
  }
  if (body !== undefined && !isReplayable(body)) {
    throw new RegistryError(`${from.host} redirected a ${req.method} whose streamed body cannot be sent again`, status);
  }
  const next: HttpRequest = { ...req, method, url: target, headers };
  if (body === undefined) delete next.body;
  else next.body = body;
  return next;
}

export function redirectLayer(maxRedirects: number = MAX_REDIRECTS): Layer {
  return (next) => async (req) => {
    const originalOrigin = req.url.origin;
    let current = req;
    for (let hops = 0; ; hops++) {
      const res = await next(current);
      if (!isRedirect(res.status)) return res;
      const location = header(res.headers, "location");
      if (location === undefined) return res; // nothing to follow: the caller reports the status
      await discard(res);
      if (hops >= maxRedirects) {
        throw new RegistryError(`too many redirects (more than ${maxRedirects}) for ${req.method} ${req.url.host}${req.url.pathname}`, res.status);
      }
      current = redirectedRequest(current, res.status, new URL(location, current.url), originalOrigin);
    }
  };
}
