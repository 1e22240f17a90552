/**
 * One registry's connection settings and its request pipeline:
 * auth → redirects → retry → connection (node:http, or undici through a proxy), with a User-Agent on every request.
 */
import { RegistryCapabilities, type RegistryFeatures } from "./capabilities.js";
import type { Dispatcher } from "undici";
import { Redactor } from "../redact.js";
import { isLoopbackRegistry, registryEndpoint } from "../reference.js";
import { AuthCache, authLayer, DEFAULT_OAUTH_CLIENT_ID } from "./auth/client.js";
import type { CredentialProvider } from "./auth/credentials.js";
import { composeOutermostFirst, connectionSend, dispatcherSend, isBrokenBody, type ConnectionOptions, type Layer, type Send } from "./http.js";
import { MAX_REDIRECTS } from "../limits.js";
import type { ProxySettings } from "./proxy.js";
import { redirectLayer } from "./redirect.js";
import { DEFAULT_LOGIN_COMMAND, type ErrorContext } from "./response-errors.js";
import { backoffDelay, DEFAULT_RETRY_POLICY, passesDeadline, pause, retryLayer, type RetryEvent, type RetryLayerOptions, type RetryPolicy } from "./retry.js";
import { asOperation, resolveTimeouts, startOperation, type Operation, type Timeouts } from "./timeouts.js";
import type { UploadPolicy } from "./upload-policy.js";

/** How to reach one registry host, where it differs from the options for every registry. */
export interface RegistryHostOptions {
  /** As RemoteOptions.plainHttp, for this host (a global `plainHttp: true` still wins). */
  plainHttp?: boolean;
  /** Skip TLS certificate verification for this host (as does a global `insecure: true`). */
  insecure?: boolean;
}

export interface RemoteOptions {
  /** true: always plain HTTP; false: always HTTPS; undefined: HTTPS except for loopback registries. */
  plainHttp?: boolean;
  /** Skip TLS certificate verification. */
  insecure?: boolean;
  /** Per registry (`host[:port]`, Docker Hub as docker.io): plain HTTP or skipping verification for that host only. */
  registries?: ReadonlyMap<string, RegistryHostOptions>;
  /**
   * Where credentials come from; anonymous when absent. Asked whenever a
   * request needs a credential, so a provider that does I/O memoises its
   * answers (memoiseCredentials; dockerCredentials does).
   */
  credentials?: CredentialProvider;
  /** e.g. "kit/0.1.0". */
  userAgent?: string;
  /** The command that authentication-failure hints tell the user to run: `${loginCommand} REGISTRY`. Default "docker login". */
  loginCommand?: string;
  /** OAuth2 client_id presented when exchanging an identity (refresh) token. Default "oci-client". */
  oauthClientId?: string;
  retry?: Partial<RetryPolicy>;
  /**
   * Time limits (DEFAULT_TIMEOUTS: connect 30 s, response headers 60 s, 30 s
   * of silence mid-body, no operation deadline). A request that runs out of
   * time fails with a NetworkError saying what it waited for; it is not retried.
   * connectMs is applied by the shared Agent: a `dispatcher` given brings its own.
   */
  timeouts?: Partial<Timeouts>;
  /** Told of every retry, resume and restart (to log or count them; the library never prints). */
  onRetry?: (event: RetryEvent) => void;
  /** Test hook: replaces the sleep between retries. */
  retrySleep?: RetryLayerOptions["sleep"];
  /** Redirects followed per request; default MAX_REDIRECTS (10). */
  maxRedirects?: number;
  /** Share tokens between clients using the same credentials. */
  authCache?: AuthCache;
  /** Share what each registry supports (referrers API, OCI 1.1 fields) between clients; default one per client. */
  capabilities?: RegistryCapabilities;
  /**
   * HTTP(S) proxies and the hosts that bypass them (the caller reads HTTP_PROXY,
   * HTTPS_PROXY and NO_PROXY, or wherever it keeps them). Ignored with `dispatcher`.
   */
  proxy?: ProxySettings;
  /** An undici dispatcher to send every request through; default: direct connections over node:http (or undici proxy agents, per `proxy`). */
  dispatcher?: Dispatcher;
  upload?: Partial<UploadPolicy>;
}

/** plainHttp and insecure as they apply to `registry`: true globally is true everywhere, else the host's own setting, else the global one. */
export function hostOptions(options: Pick<RemoteOptions, "plainHttp" | "insecure" | "registries">, registry: string): RegistryHostOptions {
  const host = options.registries?.get(registry);
  const plainHttp = options.plainHttp === true ? true : (host?.plainHttp ?? options.plainHttp);
  const insecure = options.insecure === true || host?.insecure === true;
  return { ...(plainHttp !== undefined ? { plainHttp } : {}), insecure };
}

export function registryScheme(registry: string, plainHttp?: boolean): "http:" | "https:" {
  if (plainHttp === true) return "http:";
  if (plainHttp === false) return "https:";
  return isLoopbackRegistry(registry) ? "http:" : "https:";
}

function userAgentLayer(userAgent: string | undefined): Layer {
  return (next) => (req) =>
    userAgent === undefined || req.headers["user-agent"] !== undefined
      ? next(req)
      : next({ ...req, headers: { ...req.headers, "user-agent": userAgent } });
}

/** One repository on one client: what every request helper (manifests, blobs, uploads, tags, referrers) is given. */
export interface RepoContext {
  client: RegistryClient;
  repository: string;
}

/** The error context of a request about `what` in ctx's repository. */
export function repoErrorContext(ctx: RepoContext, what: string, action: string): ErrorContext {
  return { registry: ctx.client.registry, repository: ctx.repository, what, action, loginCommand: ctx.client.loginCommand, redactor: ctx.client.redactor };
}

export class RegistryClient {
  /** `host[:port]` as named by the user (Docker Hub as docker.io). */
  readonly registry: string;
  /** scheme://endpoint, the origin that receives credentials. */
  readonly origin: string;
  readonly options: RemoteOptions;
  readonly authCache: AuthCache;
  /** options.loginCommand or its default, for error hints. */
  readonly loginCommand: string;
  /** Every secret this client sent or holds, blanked out of what registries say back (this client's only, never global). */
  readonly redactor = new Redactor();
  /** The full pipeline for registry requests. */
  readonly send: Send;
  /** options.timeouts over the defaults. */
  readonly timeouts: Timeouts;
  /** What this registry was found to support (shared through options.capabilities). */
  readonly features: RegistryFeatures;

  constructor(registry: string, options: RemoteOptions = {}) {
    this.registry = registry;
    this.options = options;
    const host = hostOptions(options, registry);
    this.origin = `${registryScheme(registry, host.plainHttp)}//${registryEndpoint(registry)}`;
    this.authCache = options.authCache ?? new AuthCache();
    this.features = (options.capabilities ?? new RegistryCapabilities()).of(registry);
    this.loginCommand = options.loginCommand ?? DEFAULT_LOGIN_COMMAND;
    this.timeouts = resolveTimeouts(options.timeouts);
    const connection: ConnectionOptions = { insecure: host.insecure ?? false, connectTimeoutMs: this.timeouts.connectMs };
    if (options.proxy) connection.proxy = options.proxy;
    const base = options.dispatcher ? dispatcherSend(options.dispatcher, this.timeouts) : connectionSend(connection, this.timeouts);
    const retryOpts: RetryLayerOptions = { registry };
    if (options.retry) retryOpts.policy = options.retry;
    if (options.retrySleep) retryOpts.sleep = options.retrySleep;
    if (options.onRetry) retryOpts.onRetry = options.onRetry;
    const plumbing: Layer[] = [userAgentLayer(options.userAgent), redirectLayer(options.maxRedirects ?? MAX_REDIRECTS), retryLayer(retryOpts)];
    const tokenSend = composeOutermostFirst(base, ...plumbing);
    const auth = authLayer({
      registry,
      origin: this.origin,
      cache: this.authCache,
      tokenSend,
      loginCommand: this.loginCommand,
      redactor: this.redactor,
      clientId: options.oauthClientId ?? DEFAULT_OAUTH_CLIENT_ID,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    });
    this.send = composeOutermostFirst(
      base,
      userAgentLayer(options.userAgent),
      auth,
      redirectLayer(options.maxRedirects ?? MAX_REDIRECTS),
      retryLayer(retryOpts),
    );
  }

  /** An absolute URL on this registry for a path such as `/v2/`. */
  url(path: string): URL {
    return new URL(path, this.origin);
  }

  /** Tell options.onRetry (if any) of a retry made above the request pipeline (a resumed download). */
  reportRetry(event: Omit<RetryEvent, "registry">): void {
    this.options.onRetry?.({ ...event, registry: this.registry });
  }

  /** Start the clock on one operation about `what` ("fetch blob sha256:… from r.example/team/app"); see Timeouts.operationMs. */
  startOperation(what: string, signal?: AbortSignal): Operation {
    return startOperation(this.timeouts.operationMs, what, signal);
  }

  /**
   * fn again when a response body it reads whole (a manifest) broke off
   * transiently: the retry layer can retry a request only until its headers
   * arrive. Within the retry policy's attempts and the operation deadline.
   */
  async retryBrokenBody<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...this.options.retry };
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const wait = backoffDelay(attempt, policy);
        if (!isBrokenBody(err) || signal?.aborted || attempt >= policy.maxAttempts || passesDeadline(wait, signal)) throw err;
        this.reportRetry({ kind: "retry", what, reason: (err as Error).message, attempt: attempt + 1, delayMs: wait });
        await pause(wait, signal, this.options.retrySleep);
      }
    }
  }

  /** Run fn as one operation under the deadline. */
  operation<T>(what: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    return asOperation(this.timeouts.operationMs, what, signal, fn);
  }
}
