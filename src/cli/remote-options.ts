/** Flags every registry command shares (and kit's config file), turned into the oras layer's options. */
import type { TrustPolicy } from "../kit/trust.js";
import type { MirrorPolicies } from "../oras/mirrors.js";
import type { RemoteOptions } from "../oras/remote/registry-client.js";
import { dockerCredentials, parseProxyUrl, RegistryCapabilities, type ProxySettings } from "../oras/remote/index.js";
import { configSettings } from "./config-settings.js";
import { retryReporter, timeoutsFrom, type TimeoutFlags } from "./timeout-options.js";
import { packageVersion } from "./version.js";

export interface RemoteFlags extends TimeoutFlags {
  plainHttp?: boolean;
  insecure?: boolean;
}

/** What each registry supports is learned once per process, whichever repositories a command touches. */
const processCapabilities = new RegistryCapabilities();

export function remoteOptions(flags: RemoteFlags): RemoteOptions {
  const opts: RemoteOptions = {
    capabilities: processCapabilities,
    credentials: dockerCredentials(),
    userAgent: `kit/${packageVersion()}`,
    loginCommand: "kit login",
    oauthClientId: "kit",
    // One streamed PUT per large blob, as skopeo does: about 30% faster here than 16 MiB PATCH chunks,
    // and a registry-to-registry copy is verified by the destination's ?digest= check either way.
    upload: { largeBlobs: "stream" },
    timeouts: timeoutsFrom(flags),
  };
  const onRetry = retryReporter();
  if (onRetry) opts.onRetry = onRetry;
  if (flags.plainHttp) opts.plainHttp = true;
  if (flags.insecure) opts.insecure = true;
  const proxy = proxyFromEnvironment(process.env);
  if (proxy !== undefined) opts.proxy = proxy;
  return opts;
}

export interface RegistrySettings {
  remote: RemoteOptions;
  /** The config file's mirrors by registry host (empty without a config file). */
  mirrors: MirrorPolicies;
  /** The config file's trust policy (no scopes without a config file). */
  trust: TrustPolicy;
}

/**
 * remoteOptions() with what the config file ($KIT_CONFIG, default
 * ~/.config/aegis/kit.yaml) sets: per-registry plain_http and insecure, and
 * the mirrors. YAML and zod are loaded only when there is a file to read.
 */
export async function registrySettings(flags: RemoteFlags, env: NodeJS.ProcessEnv = process.env): Promise<RegistrySettings> {
  const remote = remoteOptions(flags);
  const settings = await configSettings(env);
  if (settings === undefined) return { remote, mirrors: new Map(), trust: { scopes: [] } };
  return { remote: { ...remote, registries: settings.registries }, mirrors: settings.mirrors, trust: settings.trust };
}

/**
 * HTTP_PROXY, HTTPS_PROXY and NO_PROXY as curl reads them: the lower-case
 * name first, then the upper-case one; an empty value is unset. Undefined
 * when no proxy is set, so nothing proxy-related is loaded.
 */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv): ProxySettings | undefined {
  const pick = (lower: string | undefined, upper: string | undefined, name: string) => {
    const value = lower?.trim() || upper?.trim();
    return value ? { value, name: lower?.trim() ? name.toLowerCase() : name } : undefined;
  };
  const http = pick(env.http_proxy, env.HTTP_PROXY, "HTTP_PROXY");
  const https = pick(env.https_proxy, env.HTTPS_PROXY, "HTTPS_PROXY");
  if (http === undefined && https === undefined) return undefined;
  const settings: ProxySettings = {};
  if (http) settings.http = parseProxyUrl(http.value, http.name);
  if (https) settings.https = parseProxyUrl(https.value, https.name);
  const noProxy = pick(env.no_proxy, env.NO_PROXY, "NO_PROXY");
  if (noProxy) settings.noProxy = noProxy.value;
  return settings;
}
