/**
 * The auth layer: answers a registry's 401 challenge (Basic, or Bearer via the
 * token service named in the challenge) and retries the request once. What it
 * learns (scheme, realm, tokens per scope set) is cached per registry, so that
 * later requests authenticate up front instead of paying a 401 round trip each.
 *
 * Credentials go only to the registry's own origin and to its token realm,
 * never in a message: every secret it sends or holds is registered with the
 * client's Redactor, which error construction applies to what registries say.
 */
import { DeniedError, RegistryError, UnauthorizedError, UnsupportedError, type RegistryResponse } from "../../errors.js";
import { MAX_TOKEN_RESPONSE_BYTES } from "../../limits.js";
import { isLoopbackRegistry } from "../../reference.js";
import { Redactor } from "../../redact.js";
import { isReplayable, readResponse, sameOrigin, type HttpRequest, type HttpResponse, type Layer, type Send } from "../http.js";
import { DEFAULT_LOGIN_COMMAND, errorFromResponse, loginHint, readRegistryResponse, registryResponse } from "../response-errors.js";
import { untilAborted } from "../timeouts.js";
import { parseChallenges, preferredChallenge, type Challenge } from "./challenge.js";
import { isEmptyCredential, type Credential, type CredentialProvider } from "./credentials.js";
import { normaliseScopes, scopeKey } from "./scope.js";

/** Token lifetime when the token service does not say (the distribution token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** The OAuth2 client_id presented when exchanging an identity token, unless the client options name one. */
export const DEFAULT_OAUTH_CLIENT_ID = "oci-client";

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** What we know about one registry's authentication. */
export class RegistryAuthState {
  scheme: "basic" | "bearer" | undefined;
  realm: string | undefined;
  service: string | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly now: () => number) {}

  token(key: string): string | undefined {
    const entry = this.tokens.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return entry.token;
  }

  setToken(key: string, token: string, expiresInSeconds: number): void {
    // Renew a little early so a token does not expire between our check and the registry's.
    const margin = Math.min(10, expiresInSeconds / 10);
    this.tokens.set(key, { token, expiresAt: this.now() + (expiresInSeconds - margin) * 1000 });
  }

  forget(key: string): void {
    this.tokens.delete(key);
  }

  /** Run fetch once per key at a time: concurrent requests needing the same token share one fetch. */
  dedupe(key: string, fetch: () => Promise<string>): Promise<string> {
    let p = this.pending.get(key);
    if (!p) {
      p = fetch().finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }
}

/** Per-registry auth state; share one between clients that use the same credentials. */
export class AuthCache {
  private readonly states = new Map<string, RegistryAuthState>();
  constructor(private readonly now: () => number = Date.now) {}

  state(registry: string): RegistryAuthState {
    let s = this.states.get(registry);
    if (!s) this.states.set(registry, (s = new RegistryAuthState(this.now)));
    return s;
  }
}

export interface AuthLayerOptions {
  /** Registry name (`host[:port]`, Hub as docker.io): the key for credentials and the name in messages. */
  registry: string;
  /** The only origin that receives the registry credentials. */
  origin: string;
  /** Asked each time a credential is needed (memoising is the provider's business). */
  credentials?: CredentialProvider;
  cache: AuthCache;
  /** Sends token-service requests: retries and redirects, but no auth layer. */
  tokenSend: Send;
  /** OAuth2 client id for identity-token exchange (default DEFAULT_OAUTH_CLIENT_ID). */
  clientId?: string;
  userAgent?: string;
  /** Named in the hints of authentication failures (default DEFAULT_LOGIN_COMMAND). */
  loginCommand?: string;
  /** Learns every secret this layer sends or holds (default: a Redactor of its own). */
  redactor?: Redactor;
}

function basicAuthorization(cred: Credential): string {
  return `Basic ${Buffer.from(`${cred.username ?? ""}:${cred.password ?? ""}`, "utf8").toString("base64")}`;
}

function hasPassword(cred: Credential | undefined): boolean {
  return !!cred && (!!cred.username || !!cred.password);
}

/** Register a credential's secrets in every form we send them: the password, `user:password` and its base64, the tokens. */
function rememberCredential(redactor: Redactor, cred: Credential | undefined): void {
  if (!cred) return;
  redactor.add(cred.password);
  if (cred.password) {
    const pair = `${cred.username ?? ""}:${cred.password}`;
    redactor.add(pair);
    redactor.add(Buffer.from(pair, "utf8").toString("base64"));
  }
  redactor.add(cred.identityToken);
  redactor.add(cred.registryToken);
}

/** The request with this Authorization, whose credential (after the scheme) is registered before it is sent. */
function withAuthorization(req: HttpRequest, authorization: string | undefined, redactor: Redactor): HttpRequest {
  if (authorization === undefined) return req;
  redactor.add(authorization.slice(authorization.indexOf(" ") + 1));
  return { ...req, headers: { ...req.headers, authorization } };
}

/** "pull,push on team/app" for DeniedError messages. */
function describeScopes(scopes: readonly string[]): string {
  const parts = scopes.map((s) => {
    const m = /^repository:(.+):([^:]+)$/.exec(s);
    return m ? `${m[2]} on ${m[1]}` : s;
  });
  return parts.length > 0 ? parts.join(", ") : "access";
}

export function authLayer(opts: AuthLayerOptions): Layer {
  const state = opts.cache.state(opts.registry);
  const loginCommand = opts.loginCommand ?? DEFAULT_LOGIN_COMMAND;
  const redactor = opts.redactor ?? new Redactor();
  const getCredential = async (): Promise<Credential | undefined> => {
    const cred = await opts.credentials?.(opts.registry);
    rememberCredential(redactor, cred);
    return cred;
  };
  const hint = loginHint(opts.registry, loginCommand);
  const required: AuthFailure = (response) =>
    new UnauthorizedError(`authentication required for ${opts.registry}`, response ? { hint, response } : { hint });
  const invalid: AuthFailure = (response) =>
    new UnauthorizedError(`invalid credentials for ${opts.registry}`, response ? { hint, response } : { hint });

  /**
   * A token for these scopes. The fetch is shared by every request that needs
   * it at once, so it runs under the request timeouts alone; each request
   * stops waiting for it when its own signal (its deadline) fires.
   */
  const tokenFor = async (scopes: readonly string[], signal: AbortSignal | undefined, alsoUnder?: string): Promise<string> => {
    const key = scopeKey(scopes);
    const cached = state.token(key);
    if (cached !== undefined) return cached;
    const realm = state.realm;
    if (realm === undefined) throw required();
    return untilAborted(state.dedupe(key, async () => {
      const cred = await getCredential();
      if (cred?.registryToken) return cred.registryToken;
      const { token, expiresIn } = await fetchToken({ ...opts, redactor }, realm, state.service, scopes, cred, { required, invalid });
      state.setToken(key, token, expiresIn);
      if (alsoUnder !== undefined && alsoUnder !== key) state.setToken(alsoUnder, token, expiresIn);
      return token;
    }), signal);
  };

  /** The Authorization we can send before being asked, from what earlier challenges taught us. */
  const upfront = async (scopes: readonly string[], signal: AbortSignal | undefined): Promise<string | undefined> => {
    if (state.scheme === "basic") {
      const cred = await getCredential();
      return cred && hasPassword(cred) ? basicAuthorization(cred) : undefined;
    }
    if (state.scheme === "bearer") return `Bearer ${await tokenFor(scopes, signal)}`;
    return undefined;
  };

  return (next) => async (req) => {
    if (!sameOrigin(req.url, opts.origin)) return next(req);
    const scopes = normaliseScopes(req.scopes ?? []);
    const sent = await upfront(scopes, req.signal);
    const first = await next(withAuthorization(req, sent, redactor));
    // A 401 from another origin (a redirect target) is not ours to answer.
    if (first.status !== 401 || !sameOrigin(first.url, opts.origin)) return first;

    const refusal = await readRegistryResponse(first, redactor);
    const challenge = preferredChallenge(parseChallenges(first.headers["www-authenticate"], `the WWW-Authenticate header from ${opts.registry}`));
    if (challenge === undefined || !isReplayable(req.body)) throw sent !== undefined ? invalid(refusal) : required(refusal);
    const cred = await getCredential();

    if (challenge.scheme === "basic") {
      state.scheme = "basic";
      if (!cred || !hasPassword(cred)) throw required(refusal);
      if (sent?.startsWith("Basic ")) throw invalid(refusal);
      return expectAuthorized(await next(withAuthorization(req, basicAuthorization(cred), redactor)), invalid, redactor);
    }
    if (challenge.scheme === "bearer") {
      learnBearer(state, challenge, opts.registry);
      const all = normaliseScopes([...scopes, ...(challenge.params.scope ?? "").split(" ")]);
      state.forget(scopeKey(all));
      state.forget(scopeKey(scopes));
      const token = await tokenFor(all, req.signal, scopeKey(scopes));
      const second = await next(withAuthorization(req, `Bearer ${token}`, redactor));
      if (second.status !== 401) return second;
      const denial = await readRegistryResponse(second, redactor);
      state.forget(scopeKey(all));
      state.forget(scopeKey(scopes));
      if (isEmptyCredential(cred)) throw required(denial);
      throw new DeniedError(`${opts.registry} denied ${describeScopes(all)} with the credentials given`, { hint, response: denial });
    }
    throw new UnsupportedError(`${opts.registry} asks for "${challenge.scheme}" authentication, which is not supported`);
  };
}

function learnBearer(state: RegistryAuthState, challenge: Challenge, registry: string): void {
  const realm = challenge.params.realm;
  if (realm === undefined || realm === "") {
    throw new RegistryError(`${registry} asked for a bearer token without naming a token service (no realm)`, 401);
  }
  state.scheme = "bearer";
  state.realm = realm;
  state.service = challenge.params.service;
}

async function expectAuthorized(res: HttpResponse, invalid: AuthFailure, redactor: Redactor): Promise<HttpResponse> {
  if (res.status !== 401) return res;
  throw invalid(await readRegistryResponse(res, redactor));
}

/** An authentication failure, with the answer that refused us when there was one. */
type AuthFailure = (response?: RegistryResponse) => UnauthorizedError;

interface TokenErrors {
  required: AuthFailure;
  invalid: AuthFailure;
}

/**
 * Get a token from the realm: an OAuth2 refresh-token POST when we hold an
 * identity token, else the distribution token GET (Basic-authenticated when we
 * have a password, anonymous otherwise — public images on most registries).
 */
async function fetchToken(
  opts: AuthLayerOptions & { redactor: Redactor },
  realm: string,
  service: string | undefined,
  scopes: readonly string[],
  cred: Credential | undefined,
  errors: TokenErrors,
): Promise<{ token: string; expiresIn: number }> {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new RegistryError(`${opts.registry} named an invalid token service URL`, 401);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new RegistryError(`${opts.registry} named a token service with unsupported scheme "${url.protocol}"`, 401);
  }
  const sendsSecret = hasPassword(cred) || !!cred?.identityToken;
  if (sendsSecret && url.protocol === "http:" && opts.origin.startsWith("https:") && !isLoopbackRegistry(url.host)) {
    throw new UnauthorizedError(
      `refusing to send credentials for ${opts.registry} to the plain-HTTP token service at ${url.host}`,
      { hint: "the registry's token realm must use HTTPS" },
    );
  }
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.userAgent) headers["user-agent"] = opts.userAgent;
  let req: HttpRequest;
  if (cred?.identityToken) {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: cred.identityToken, client_id: opts.clientId ?? DEFAULT_OAUTH_CLIENT_ID });
    if (service !== undefined) form.set("service", service);
    if (scopes.length > 0) form.set("scope", scopes.join(" "));
    headers["content-type"] = "application/x-www-form-urlencoded";
    req = { method: "POST", url, headers, body: form.toString() };
  } else {
    if (service !== undefined) url.searchParams.set("service", service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    req = withAuthorization({ method: "GET", url, headers }, cred && hasPassword(cred) ? basicAuthorization(cred) : undefined, opts.redactor);
  }

  const res = await opts.tokenSend(req);
  if (res.status === 401 || res.status === 403) {
    const refusal = await readRegistryResponse(res, opts.redactor);
    throw isEmptyCredential(cred) ? errors.required(refusal) : errors.invalid(refusal);
  }
  if (res.status !== 200) {
    const loginCommand = opts.loginCommand ?? DEFAULT_LOGIN_COMMAND;
    throw await errorFromResponse(res, { registry: url.host, what: `a token for ${opts.registry}`, action: "request", loginCommand, redactor: opts.redactor });
  }
  const text = (await readResponse(res, MAX_TOKEN_RESPONSE_BYTES, `the token response from ${url.host}`)).toString("utf8");
  let body: { token?: unknown; access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new RegistryError(`the token service at ${url.host} sent a response that is not JSON`, res.status, { response: registryResponse(res) });
  }
  const token = typeof body.access_token === "string" && body.access_token !== "" ? body.access_token : body.token;
  // Known before anything can quote them: the token we are about to send, and a refresh token we were handed.
  for (const secret of [body.token, body.access_token, body.refresh_token]) if (typeof secret === "string") opts.redactor.add(secret);
  if (typeof token !== "string" || token === "") {
    throw new RegistryError(`the token service at ${url.host} returned no token for ${opts.registry}`, res.status, { response: registryResponse(res) });
  }
  const expiresIn =
    typeof body.expires_in === "number" && Number.isFinite(body.expires_in) && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
  return { token, expiresIn };
}
