/**
 * Graph copy between any two Targets: resolve, plan (pure data), execute.
 * `--dry-run` is planCopy alone (or copy with dryRun: true).
 */
import type { Descriptor } from "../descriptor.js";
import { isDigest } from "../digest.js";
import { InvalidReferenceError, UsageError } from "../errors.js";
import { isValidTag, type ManifestSelector } from "../reference.js";
import { resolveSelector } from "../resolve.js";
import type { ReadOnlyStorage, Resolver } from "../target.js";
import { executeCopy, type CopyDestination, type CopyStats, type ExecuteOptions } from "./execute.js";
import { planCopy, type CopyPlan, type PlanOptions } from "./plan.js";
import { copyReferrers, manifestsOf, type ReferrerCopy } from "./referrers.js";

export { executeCopy, type CopyDestination, type CopyProgressEvent, type CopyProgressOptions, type CopyStats, type ExecuteOptions } from "./execute.js";
export {
  planCopy,
  cachedManifest,
  orderChildrenFirst,
  type GraphNode,
  DEFAULT_CONCURRENCY,
  DEFAULT_MANIFEST_CACHE_BYTES,
  type CopyPlan,
  type NodeAction,
  type PlanNode,
  type PlanOptions,
  type SkipReason,
} from "./plan.js";
export { isNonDistributable, kindOf, manifestSuccessors, type NodeKind, type Successor, type SuccessorRole } from "./successors.js";
export { Semaphore, TaskGroup } from "./limiter.js";
export { copyReferrers, manifestsOf, type ReferrerCopy, type ReferrersWalkOptions, type ReferrerSource } from "./referrers.js";
export { DEFAULT_MAX_NODES, MAX_INDEX_DEPTH } from "../limits.js";

export interface CopyOptions extends PlanOptions, Omit<ExecuteOptions, "tag"> {
  /** Plan only: nothing is written to the destination. */
  dryRun?: boolean;
  /**
   * Also copy what refers to the graph (signatures, SBOMs, kits), and what
   * refers to those, subjects first (oras-go's ExtendedCopy), and cosign's
   * tag-named attachments of each manifest under their tags. The source must
   * find predecessors or resolve tags (a registry, a layout); others have none.
   */
  referrers?: boolean;
}

export interface CopyResult {
  root: Descriptor;
  plan: CopyPlan;
  /** The tag the destination got (on a dry run: would get); absent when untagged. */
  tag?: string;
  /** Absent on a dry run. */
  stats?: CopyStats;
  /** With `referrers`: each referrer copied along, subjects before referrers. */
  referrers?: ReferrerCopy[];
}

/** A copy source: it resolves references, and may have a name for messages. */
export type CopySource = ReadOnlyStorage & Resolver & { readonly name?: string };

/**
 * Copy the graph that `srcRef` names in src into dst, then tag it. These are
 * the copy rules, after oras-go's Copy:
 * - srcRef is a tag or digest as src.resolve understands it, or a parsed
 *   ManifestSelector (a TargetReference is one): with both a tag and a
 *   digest, the tag must still point at the digest.
 * - dstRef may be a tag, a digest, both, or absent. A digest must be the
 *   root's (a copy keeps digests). Absent, or a selector with neither, means
 *   "as the source": srcRef's tag when it has one and dst can tag; a
 *   destination named by digest alone is not tagged.
 */
export async function copy(
  src: CopySource,
  srcRef: string | ManifestSelector,
  dst: CopyDestination,
  dstRef?: string | ManifestSelector,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const dstSelector = destinationSelector(dstRef);
  const signal = opts.signal ? { signal: opts.signal } : {};
  const root = typeof srcRef === "string" ? await src.resolve(srcRef, signal) : await resolveSelector(src, srcRef, src.name ?? "the source", signal);
  if (dstSelector.digest !== undefined && dstSelector.digest !== root.digest) {
    throw new UsageError(`destination digest ${dstSelector.digest} differs from ${root.digest}, which ${describeSource(src, srcRef)} resolves to`, {
      hint: "a copy keeps digests; give a tag or the source's digest as the destination reference",
    });
  }
  let tag = dstSelector.tag;
  if (tag === undefined && dstSelector.digest === undefined) {
    // An implicit tag is a convenience, so a destination that cannot tag simply does not get one.
    const canTag = typeof dst.tag === "function" || typeof dst.pushReference === "function";
    const srcTag = typeof srcRef === "string" ? srcRef : srcRef.tag;
    tag = canTag && srcTag !== undefined && isValidTag(srcTag) ? srcTag : undefined;
  }
  return copyGraphTagged(src, dst, root, tag, opts);
}

/** A destination reference as a selector; a text one is checked here (a parsed one was checked by its parser). */
function destinationSelector(dstRef: string | ManifestSelector | undefined): ManifestSelector {
  if (dstRef === undefined) return {};
  if (typeof dstRef !== "string") return dstRef;
  if (isDigest(dstRef)) return { digest: dstRef };
  if (!isValidTag(dstRef)) {
    throw new InvalidReferenceError(`invalid destination tag "${dstRef}": a tag is 1-128 letters, digits, "_", "." and "-"`);
  }
  return { tag: dstRef };
}

function describeSource(src: CopySource, srcRef: string | ManifestSelector): string {
  if (typeof srcRef === "string") return `"${srcRef}"`;
  const named = (src.name ?? "the source") + (srcRef.tag !== undefined ? `:${srcRef.tag}` : "") + (srcRef.digest !== undefined ? `@${srcRef.digest}` : "");
  return `"${named}"`;
}

/**
 * Copy the graph under an already resolved root from src to dst; tagged at
 * the end only when `opts.tag` is given.
 */
export function copyGraph(src: ReadOnlyStorage, dst: CopyDestination, root: Descriptor, opts: CopyOptions & { tag?: string } = {}): Promise<CopyResult> {
  const { tag, ...rest } = opts;
  return copyGraphTagged(src, dst, root, tag, rest);
}

async function copyGraphTagged(
  src: ReadOnlyStorage,
  dst: CopyDestination,
  root: Descriptor,
  tag: string | undefined,
  opts: CopyOptions,
): Promise<CopyResult> {
  const plan = await planCopy(src, dst, root, opts);
  const tagged = tag !== undefined ? { tag } : {};
  const stats = opts.dryRun ? undefined : await executeCopy(src, dst, plan, { ...opts, ...tagged });
  const result: CopyResult = { root, plan, ...tagged, ...(stats ? { stats } : {}) };
  if (opts.referrers) {
    const one = { ...opts, referrers: false };
    result.referrers = await copyReferrers(src, manifestsOf(plan), (referrer, tag) => copyGraphTagged(src, dst, referrer, tag, one), {
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }
  return result;
}
