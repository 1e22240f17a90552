/**
 * One registry's connection settings and its request pipeline:
 * auth → redirects → retry → undici, with a User-Agent on every request.
 */
import type { Dispatcher } from "undici";
import { isLoopbackRegistry, registryEndpoint } from "../reference.js";
import { AuthCache, authLayer } from "./auth/client.js";
import type { CredentialProvider } from "./auth/credentials.js";
import { compose, sharedAgent, undiciSend, type Layer, type Send } from "./http.js";
import { MAX_REDIRECTS, redirectLayer } from "./redirect.js";
import { retryLayer, type RetryLayerOptions, type RetryPolicy } from "./retry.js";
import type { UploadPolicy } from "./upload.js";

export interface RemoteOptions {
  /** true: always plain HTTP; false: always HTTPS; undefined: HTTPS except for loopback registries. */
  plainHttp?: boolean;
  /** Skip TLS certificate verification. */
  insecure?: boolean;
  /** Where credentials come from; anonymous when absent. */
  credentials?: CredentialProvider;
  /** e.g. "kit/0.1.0". */
  userAgent?: string;
  retry?: Partial<RetryPolicy>;
  /** Test hook: replaces the sleep between retries. */
  retrySleep?: RetryLayerOptions["sleep"];
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

export class RegistryClient {
  /** `host[:port]` as named by the user (Docker Hub as docker.io). */
  readonly registry: string;
  /** scheme://endpoint, the origin that receives credentials. */
  readonly origin: string;
  readonly options: RemoteOptions;
  readonly authCache: AuthCache;
  /** The full pipeline for registry requests. */
  readonly send: Send;

  constructor(registry: string, options: RemoteOptions = {}) {
    this.registry = registry;
    this.options = options;
    this.origin = `${registryScheme(registry, options.plainHttp)}//${registryEndpoint(registry)}`;
    this.authCache = options.authCache ?? new AuthCache();
    const base = undiciSend(options.dispatcher ?? sharedAgent({ insecure: options.insecure ?? false }));
    const retryOpts: RetryLayerOptions = {};
    if (options.retry) retryOpts.policy = options.retry;
    if (options.retrySleep) retryOpts.sleep = options.retrySleep;
    const plumbing: Layer[] = [userAgentLayer(options.userAgent), redirectLayer(options.maxRedirects ?? MAX_REDIRECTS), retryLayer(retryOpts)];
    const tokenSend = compose(base, ...plumbing);
    const auth = authLayer({
      registry,
      origin: this.origin,
      cache: this.authCache,
      tokenSend,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    });
    this.send = compose(base, userAgentLayer(options.userAgent), auth, redirectLayer(options.maxRedirects ?? MAX_REDIRECTS), retryLayer(retryOpts));
  }

  /** An absolute URL on this registry for a path such as `/v2/`. */
  url(path: string): URL {
    return new URL(path, this.origin);
  }
}
