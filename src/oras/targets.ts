/**
 * Opening a parsed reference as a Target, resolving what it names, and
 * copying between two references. A registry repository and an OCI layout
 * come out interchangeable, so callers (copy, resolve, the kit layer) never
 * branch on the kind.
 */
import { copy, type CopyResult, type CopyOptions } from "./copy/index.js";
import { failedSide } from "./copy/side.js";
import type { DescribedBytes, Descriptor } from "./descriptor.js";
import { MAX_MANIFEST_BYTES } from "./limits.js";
import { NotFoundError } from "./errors.js";
import { OciLayout } from "./layout/store.js";
import { MemoryStore } from "./memory.js";
import { fromEndpoints, isEndpointFailure, type MirrorPolicies } from "./mirrors.js";
import { formatReference, parseTargetReference, type LayoutReference, type RegistryReference, type TargetReference } from "./reference.js";
import { RemoteRepository } from "./remote/repository.js";
import type { RemoteOptions } from "./remote/registry-client.js";
import type { RetryEvent } from "./remote/retry.js";
import { resolveSelector } from "./resolve.js";
import { fetchAll } from "./verify.js";

export type OpenedTarget = { kind: "registry"; ref: RegistryReference; target: RemoteRepository } | { kind: "layout"; ref: LayoutReference; target: OciLayout };

export interface OpenTargetOptions {
  remote?: RemoteOptions;
  /** Create the layout directory when it does not exist (destinations). */
  create?: boolean;
}

export async function openTarget(ref: TargetReference, opts: OpenTargetOptions = {}): Promise<OpenedTarget> {
  if (ref.kind === "registry") return { kind: "registry", ref, target: new RemoteRepository(ref, opts.remote ?? {}) };
  return { kind: "layout", ref, target: await OciLayout.open(ref.path, { create: opts.create ?? false }) };
}

/**
 * The manifest a reference names. With both a tag and a digest the digest
 * wins, but a tag that now resolves to a different digest is an error.
 */
export function resolveTarget(opened: OpenedTarget, opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
  return resolveSelector(opened.target, opened.ref, formatReference({ ...opened.ref, tag: undefined, digest: undefined }), opts);
}

/**
 * The manifest a reference names, bytes verified. On a registry a tag costs
 * one GET (checked against Docker-Content-Digest) instead of HEAD + GET.
 */
export async function fetchManifestOf(opened: OpenedTarget, opts: { signal?: AbortSignal } = {}): Promise<DescribedBytes> {
  if (opened.kind === "registry" && (opened.ref.tag === undefined || opened.ref.digest === undefined)) {
    const named = opened.ref.digest ?? opened.ref.tag;
    if (named !== undefined) return opened.target.fetchManifest(named, opts);
  }
  const descriptor = await resolveTarget(opened, opts);
  const bytes = await fetchAll(opened.target, descriptor, { limit: MAX_MANIFEST_BYTES, what: `manifest ${descriptor.digest} from ${opened.target.name}`, ...opts });
  return { descriptor, bytes };
}

export interface CopyReferenceOptions extends CopyOptions {
  remote?: RemoteOptions;
  /** Mirrors to read a registry source through (never the destination). */
  sourceMirrors?: MirrorPolicies;
}

export interface CopyReferenceResult extends CopyResult {
  source: TargetReference;
  destination: TargetReference;
  /** Where the source was read: the source itself, or the mirror of it that served. */
  sourceEndpoint: TargetReference;
}

/**
 * copy() from what one reference names to another (registry or layout, text
 * or parsed), with copy()'s tag and digest rules. A destination layout is
 * created, except on a dry run: a dry run creates nothing, so a layout that
 * does not exist yet is planned against an empty store. Within one registry
 * blobs are mounted from the source repository; between two registries the
 * destination's `PUT ?digest=` check replaces hashing here. Options given
 * win over both decisions.
 */
export async function copyReference(
  source: string | TargetReference,
  destination: string | TargetReference,
  opts: CopyReferenceOptions = {},
): Promise<CopyReferenceResult> {
  const srcRef = typeof source === "string" ? parseTargetReference(source) : source;
  const dstRef = typeof destination === "string" ? parseTargetReference(destination) : destination;
  const { remote, sourceMirrors, ...copyOpts } = opts;
  const counted = countingRetries(remote ?? {});
  const copyBetween = (src: OpenedTarget, dst: CopyEnd) => copy(src.target, src.ref, dst.target, dstRef, { ...copyStrategy(src, dst), ...copyOpts });
  let result: CopyResult;
  let sourceEndpoint: TargetReference = srcRef;
  if (srcRef.kind === "layout") {
    const src = await openTarget(srcRef, { remote: counted.remote });
    result = await copyBetween(src, await openDestination(dstRef, counted.remote, opts.dryRun ?? false));
  } else {
    const dst = await openDestination(dstRef, counted.remote, opts.dryRun ?? false);
    // A failure writing to the destination is not cured by reading another mirror.
    const served = await fromEndpoints(srcRef, sourceMirrors?.get(srcRef.registry), async (endpoint) => copyBetween(await openTarget(endpoint.ref, { remote: counted.remote }), dst), {
      tryNext: (err) => isEndpointFailure(err) && failedSide(err) !== "destination",
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    result = served.value;
    sourceEndpoint = served.endpoint.ref;
  }
  if (result.stats !== undefined) {
    result.stats = { ...result.stats, retries: result.stats.retries + counted.counts.retries, resumes: result.stats.resumes + counted.counts.resumes };
  }
  return { ...result, source: srcRef, destination: dstRef, sourceEndpoint };
}

/** The remote options with their onRetry (if any) still told, and the events counted in `counts`. */
export function countingRetries(remote: RemoteOptions): { remote: RemoteOptions; counts: { retries: number; resumes: number } } {
  const counts = { retries: 0, resumes: 0 };
  const onRetry = (event: RetryEvent): void => {
    if (event.kind === "resume") counts.resumes++;
    else counts.retries++;
    remote.onRetry?.(event);
  };
  return { remote: { ...remote, onRetry }, counts };
}

/** A copy destination: an opened target, or the empty store a dry run into a missing layout plans against. */
export type CopyEnd = OpenedTarget | { kind: "memory"; target: MemoryStore };

/**
 * How a copy between these two ends goes: between registries the
 * destination's `PUT ?digest=` check replaces hashing here, and within one
 * registry blobs are mounted from the source repository.
 */
export function copyStrategy(src: OpenedTarget, dst: CopyEnd): CopyOptions {
  if (src.kind !== "registry" || dst.kind !== "registry") return {};
  const mountable = src.ref.registry === dst.ref.registry && src.ref.repository !== dst.ref.repository;
  return { verifySource: false, ...(mountable ? { mountFrom: src.ref.repository, canMount: () => true } : {}) };
}

async function openDestination(ref: TargetReference, remote: RemoteOptions, dryRun: boolean): Promise<CopyEnd> {
  try {
    return await openTarget(ref, { remote, create: !dryRun });
  } catch (err) {
    if (!(dryRun && ref.kind === "layout" && err instanceof NotFoundError)) throw err;
    return { kind: "memory", target: new MemoryStore(formatReference(ref)) };
  }
}
