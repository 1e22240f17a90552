/**
 * One registry's connection settings and its request pipeline:
 * auth → redirects → retry → undici, with a User-Agent on every request.
 */
import type { Dispatcher } from "undici";
import { isLoopbackRegistry, registryEndpoint } from "../reference.js";
import { AuthCache, authLayer, DEFAULT_OAUTH_CLIENT_ID } from "./auth/client.js";
import type { CredentialProvider } from "./auth/credentials.js";
import { composeOutermostFirst, sharedAgent, undiciSend, type Layer, type Send } from "./http.js";
import { MAX_REDIRECTS } from "../limits.js";
import { redirectLayer } from "./redirect.js";
import { DEFAULT_LOGIN_COMMAND, type ErrorContext } from "./response-errors.js";
import { retryLayer, type RetryLayerOptions, type RetryPolicy } from "./retry.js";
import type { UploadPolicy } from "./upload-policy.js";

export interface RemoteOptions {
  /** true: always plain HTTP; false: always HTTPS; undefined: HTTPS except for loopback registries. */
  plainHttp?: boolean;
  /** Skip TLS certificate verification. */
  insecure?: boolean;
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
  /** Test hook: replaces the sleep between retries. */
  retrySleep?: RetryLayerOptions["sleep"];
  /** Redirects followed per request; default MAX_REDIRECTS (10). */
  maxRedirects?: number;
  /** Share tokens between clients using the same credentials. */
  authCache?: AuthCache;
  /** Default: the process-wide undici Agent. */
  dispatcher?: Dispatcher;
  upload?: Partial<UploadPolicy>;
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
  return { registry: ctx.client.registry, repository: ctx.repository, what, action, loginCommand: ctx.client.loginCommand };
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
  /** The full pipeline for registry requests. */
  readonly send: Send;

  constructor(registry: string, options: RemoteOptions = {}) {
    this.registry = registry;
    this.options = options;
    this.origin = `${registryScheme(registry, options.plainHttp)}//${registryEndpoint(registry)}`;
    this.authCache = options.authCache ?? new AuthCache();
    this.loginCommand = options.loginCommand ?? DEFAULT_LOGIN_COMMAND;
    const base = undiciSend(options.dispatcher ?? sharedAgent({ insecure: options.insecure ?? false }));
    const retryOpts: RetryLayerOptions = {};
    if (options.retry) retryOpts.policy = options.retry;
    if (options.retrySleep) retryOpts.sleep = options.retrySleep;
    const plumbing: Layer[] = [userAgentLayer(options.userAgent), redirectLayer(options.maxRedirects ?? MAX_REDIRECTS), retryLayer(retryOpts)];
    const tokenSend = composeOutermostFirst(base, ...plumbing);
    const auth = authLayer({
      registry,
      origin: this.origin,
      cache: this.authCache,
      tokenSend,
      loginCommand: this.loginCommand,
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
}
