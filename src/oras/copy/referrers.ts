/**
 * Copying what refers to a graph along with it (oras-go's ExtendedCopy, for
 * `copy -r`): after the graph under a root is at the destination, every
 * manifest in it is asked for its referrers (signatures, SBOMs, kits), each
 * referrer's own graph is copied, and its referrers after it — subjects
 * always before their referrers, so a destination without the referrers API
 * can index each one as it arrives. Bounded in count and depth: a source
 * could list referrers without end.
 */
import type { Descriptor } from "../descriptor.js";
import { isManifestMediaType } from "../descriptor.js";
import { SizeLimitError } from "../errors.js";
import { MAX_REFERRER_DEPTH, MAX_REFERRERS_COPIED } from "../limits.js";
import type { PredecessorFinder, ReadOnlyStorage } from "../target.js";
import type { CopyDestination, CopyStats } from "./execute.js";
import type { CopyPlan } from "./plan.js";

export interface ReferrerCopy {
  /** The referrer copied. */
  descriptor: Descriptor;
  /** The manifest it refers to. */
  subject: string;
  /** Absent on a dry run. */
  stats?: CopyStats;
  plan: CopyPlan;
}

export interface ReferrersWalkOptions {
  signal?: AbortSignal;
  /** Only referrers of this artifact type (and, under them, theirs of any type). */
  artifactType?: string;
  /** Referrers copied at most; default MAX_REFERRERS_COPIED. */
  maxReferrers?: number;
}

/** What a source must be for its referrers to be found. */
export type ReferrerSource = ReadOnlyStorage & Partial<PredecessorFinder>;

/**
 * Copy the referrers of every manifest in `subjects` (and theirs, in turn).
 * `copyOne` copies one referrer's graph (the caller's copy options) and
 * returns the plan it ran; the manifests of that graph are walked next.
 */
export async function copyReferrers(
  src: ReferrerSource,
  subjects: readonly Descriptor[],
  copyOne: (referrer: Descriptor) => Promise<{ plan: CopyPlan; stats?: CopyStats }>,
  opts: ReferrersWalkOptions = {},
): Promise<ReferrerCopy[]> {
  if (typeof src.predecessors !== "function") return [];
  const find = src.predecessors.bind(src);
  const limit = opts.maxReferrers ?? MAX_REFERRERS_COPIED;
  const seen = new Set(subjects.map((s) => s.digest));
  const copied: ReferrerCopy[] = [];
  let level = subjects.filter((s) => isManifestMediaType(s.mediaType));
  for (let depth = 0; level.length > 0; depth++) {
    if (depth >= MAX_REFERRER_DEPTH) {
      throw new SizeLimitError(MAX_REFERRER_DEPTH, `the referrers chain under ${subjects[0]?.digest ?? "the root"}`, { unit: "levels" });
    }
    const next: Descriptor[] = [];
    for (const subject of level) {
      const filter = depth === 0 && opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {};
      const found = await find(subject, { ...filter, ...(opts.signal ? { signal: opts.signal } : {}) });
      for (const referrer of found) {
        if (seen.has(referrer.digest)) continue;
        seen.add(referrer.digest);
        if (copied.length >= limit) throw new SizeLimitError(limit, `the referrers of ${subjects[0]?.digest ?? "the root"}`, { unit: "referrers" });
        const result = await copyOne(referrer);
        copied.push({ descriptor: referrer, subject: subject.digest, plan: result.plan, ...(result.stats ? { stats: result.stats } : {}) });
        // A referrer's own manifests may be referred to in turn (a signature of a kit of an image).
        for (const node of result.plan.nodes) {
          if (node.kind === "manifest" && !seen.has(node.descriptor.digest)) next.push(node.descriptor);
          seen.add(node.descriptor.digest);
        }
        next.push(referrer);
      }
    }
    level = dedupe(next);
  }
  return copied;
}

function dedupe(list: Descriptor[]): Descriptor[] {
  const byDigest = new Map<string, Descriptor>();
  for (const d of list) byDigest.set(d.digest, d);
  return [...byDigest.values()];
}

/** Every manifest of a copied graph: the subjects whose referrers travel with it. */
export function manifestsOf(plan: CopyPlan): Descriptor[] {
  return plan.nodes.filter((n) => n.kind === "manifest").map((n) => n.descriptor);
}

export type { CopyDestination };
