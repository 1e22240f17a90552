/**
 * Graph copy between any two Targets: resolve, plan (pure data), execute.
 * `--dry-run` is planCopy alone (or copy with dryRun: true).
 */
import type { Descriptor } from "../descriptor.js";
import { isDigest } from "../digest.js";
import { InvalidReferenceError, UsageError } from "../errors.js";
import { isValidTag } from "../reference.js";
import type { ReadOnlyStorage, Resolver } from "../target.js";
import { executeCopy, type CopyDestination, type CopyStats, type ExecuteOptions } from "./execute.js";
import { planCopy, type CopyPlan, type PlanOptions } from "./plan.js";

export { executeCopy, type CopyDestination, type CopyProgressEvent, type CopyStats, type ExecuteOptions } from "./execute.js";
export {
  planCopy,
  DEFAULT_CONCURRENCY,
  DEFAULT_MANIFEST_CACHE_BYTES,
  DEFAULT_MAX_NODES,
  type CopyPlan,
  type NodeAction,
  type PlanNode,
  type PlanOptions,
  type SkipReason,
} from "./plan.js";
export { isNonDistributable, kindOf, manifestSuccessors, type NodeKind, type Successor, type SuccessorRole } from "./successors.js";
export { Semaphore, TaskGroup } from "./limiter.js";

export interface CopyOptions extends PlanOptions, Omit<ExecuteOptions, "tag"> {
  /** Plan only: nothing is written to the destination. */
  dryRun?: boolean;
}

export interface CopyResult {
  root: Descriptor;
  plan: CopyPlan;
  /** Absent on a dry run. */
  stats?: CopyStats;
}

/**
 * Copy the graph that `srcRef` (a tag or digest, as src.resolve understands
 * it) names in src into dst, then tag it. dstRef may be a tag, the root's
 * digest (no tag) or omitted: then srcRef is reused when it is a tag, as
 * oras-go does.
 */
export async function copy(
  src: ReadOnlyStorage & Resolver,
  srcRef: string,
  dst: CopyDestination,
  dstRef?: string,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  if (dstRef !== undefined && !isDigest(dstRef) && !isValidTag(dstRef)) {
    throw new InvalidReferenceError(`invalid destination tag "${dstRef}": a tag is 1-128 letters, digits, "_", "." and "-"`);
  }
  const root = await src.resolve(srcRef, opts.signal ? { signal: opts.signal } : undefined);
  let tag: string | undefined;
  if (dstRef === undefined) {
    // An implicit tag is a convenience, so a destination that cannot tag simply does not get one.
    const canTag = typeof dst.tag === "function" || typeof dst.pushReference === "function";
    tag = canTag && isValidTag(srcRef) ? srcRef : undefined;
  } else if (isDigest(dstRef)) {
    if (dstRef !== root.digest) {
      throw new UsageError(`destination digest ${dstRef} differs from ${root.digest}, which "${srcRef}" resolves to`, {
        hint: "a copy keeps digests; give a tag or the source's digest as the destination reference",
      });
    }
  } else {
    tag = dstRef;
  }
  return copyGraphTagged(src, dst, root, tag, opts);
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
  if (opts.dryRun) return { root, plan };
  const stats = await executeCopy(src, dst, plan, { ...opts, ...(tag !== undefined ? { tag } : {}) });
  return { root, plan, stats };
}
