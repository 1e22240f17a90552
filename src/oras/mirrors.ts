/**
 * Pulling through mirrors, with the semantics of containers/image's
 * sysregistriesv2 (containers-registries.conf(5)): a registry's mirrors are
 * tried in order, then the registry itself unless the policy forbids it.
 * What is fetched keeps its original name; only where the bytes come from
 * changes. A reference pinned by digest is safe from any mirror, since every
 * byte is verified against the digest; a tag resolved at a mirror is trusted
 * as that mirror says (as containers/image does) unless the policy keeps
 * tags to the upstream (`digest-only`).
 */
import { OciError, UsageError, type ErrorCode } from "./errors.js";
import { mirroredReference, type MirrorLocation } from "./mirror-location.js";
import { formatReference, repositoryName, type RegistryReference } from "./reference.js";

/** Which references a registry's mirrors serve: every one, only those with a digest, or only those without. */
export type PullFromMirror = "all" | "digest-only" | "tag-only";

export const PULL_FROM_MIRROR_VALUES: readonly PullFromMirror[] = ["all", "digest-only", "tag-only"];

export interface RegistryMirrorPolicy {
  /** Tried in this order. */
  mirrors: readonly MirrorLocation[];
  /** Default "all". */
  pullFromMirror?: PullFromMirror;
  /** Try the registry itself after its mirrors; default true. */
  fallback?: boolean;
  /** Where the policy was set (a file), for hints. */
  source?: string;
}

/** Mirror policies by registry (`host[:port]` as in a RegistryReference; Docker Hub is `docker.io`). */
export type MirrorPolicies = ReadonlyMap<string, RegistryMirrorPolicy>;

export interface PullEndpoint {
  /** The reference as this endpoint names it (the original one for the registry itself). */
  ref: RegistryReference;
  mirror: boolean;
}

/** The endpoints to pull `ref` from, in order; empty when the policy leaves none (a tag, digest-only, no fallback). */
export function pullEndpoints(ref: RegistryReference, policy: RegistryMirrorPolicy | undefined): PullEndpoint[] {
  if (policy === undefined) return [{ ref, mirror: false }];
  const mode = policy.pullFromMirror ?? "all";
  // A reference with a digest (tag@digest too) is a digest pull, as containers/image counts it.
  const digested = ref.digest !== undefined;
  const useMirrors = mode === "all" || (mode === "digest-only" ? digested : !digested);
  const endpoints = useMirrors ? policy.mirrors.map((loc) => ({ ref: mirroredReference(ref, loc), mirror: true })) : [];
  if (policy.fallback ?? true) endpoints.push({ ref, mirror: false });
  return endpoints;
}

export interface EndpointFailure {
  endpoint: PullEndpoint;
  error: OciError;
}

/** Every endpoint tried failed: each one and its failure; the code is the upstream's (else the last one's). */
export class EndpointsFailedError extends OciError {
  constructor(
    readonly reference: RegistryReference,
    readonly failures: readonly EndpointFailure[],
    /** Said after the chosen failure's own hint (where the mirrors are set). */
    moreHint?: string,
  ) {
    const chosen = failures.find((f) => !f.endpoint.mirror) ?? failures[failures.length - 1]!;
    const each = failures.map((f) => `${f.endpoint.mirror ? "mirror" : "upstream"} ${repositoryName(f.endpoint.ref)}: ${f.error.message}`);
    const why = [chosen.error.hint, moreHint].filter((h) => h !== undefined).join("; ") || undefined;
    const tried = failures.length === 1 ? `its only endpoint, ${each[0]!}` : `any of its ${failures.length} endpoints: ${each.join("; ")}`;
    super(chosen.error.code, `cannot pull ${formatReference(reference)} from ${tried}`, {
      cause: chosen.error,
      ...(why !== undefined ? { hint: why } : {}),
      ...(chosen.error.response !== undefined ? { response: chosen.error.response } : {}),
    });
  }
}

/**
 * Failures of the endpoint, which another may not share: it is down, lacks
 * the content, refuses us, or sent bytes that are not what was asked for.
 * The rest (content that is not what the caller accepts, a bad argument, a
 * local file) would be the same anywhere and are thrown at once.
 */
const ENDPOINT_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["NOT_FOUND", "NETWORK", "REGISTRY", "UNAUTHORIZED", "DENIED", "DIGEST_MISMATCH", "SIZE_MISMATCH", "SIZE_LIMIT"]);

export function isEndpointFailure(err: OciError): boolean {
  return ENDPOINT_FAILURES.has(err.code);
}

export interface FromEndpointsOptions {
  /** Whether the next endpoint is tried after this failure; default isEndpointFailure. */
  tryNext?: (err: OciError) => boolean;
  signal?: AbortSignal;
}

/**
 * Run `operation` against each endpoint of `ref` in turn until one succeeds,
 * moving on after the failures `tryNext` accepts (the others, and errors
 * that are not OciErrors, are thrown as they are). When every endpoint
 * failed, an EndpointsFailedError names each and its failure; the registry
 * alone (no mirrors) fails with its own error, as without a policy.
 */
export async function fromEndpoints<T>(
  ref: RegistryReference,
  policy: RegistryMirrorPolicy | undefined,
  operation: (endpoint: PullEndpoint) => Promise<T>,
  opts: FromEndpointsOptions = {},
): Promise<{ value: T; endpoint: PullEndpoint }> {
  const endpoints = pullEndpoints(ref, policy);
  const set = policy?.source !== undefined ? `the mirrors of ${ref.registry} are set in ${policy.source}` : undefined;
  if (endpoints.length === 0) {
    throw new UsageError(
      `cannot pull ${formatReference(ref)}: it names no digest, and ${ref.registry}'s mirrors serve digests only, with no fallback to ${ref.registry}`,
      { hint: `pull it by digest (${repositoryName(ref)}@sha256:…)${set !== undefined ? `; ${set}` : ""}` },
    );
  }
  const failures: EndpointFailure[] = [];
  for (const endpoint of endpoints) {
    try {
      return { value: await operation(endpoint), endpoint };
    } catch (err) {
      // The registry alone, as without mirrors, fails as it always has; a mirror's failure always says it was a mirror.
      const alone = endpoints.length === 1 && !endpoint.mirror;
      if (!(err instanceof OciError) || alone || opts.signal?.aborted || !(opts.tryNext ?? isEndpointFailure)(err)) throw err;
      failures.push({ endpoint, error: err });
    }
  }
  throw new EndpointsFailedError(ref, failures, set);
}
