/**
 * Copying what refers to a graph along with it (oras-go's ExtendedCopy, for
 * `copy -r`): after the graph under a root is at the destination, every
 * manifest in it is asked for its referrers (signatures, SBOMs, kits), each
 * referrer's own graph is copied, and its referrers after it — subjects
 * always before their referrers, so a destination without the referrers API
 * can index each one as it arrives. The walk is src/oras/attachments.ts's,
 * bounded in count and depth; it follows OCI referrers only (cosign's
 * tag-named attachments are tags, which a copy of one reference does not
 * carry: copy them by name).
 */
import { walkAttachments } from "../attachments.js";
import type { Descriptor } from "../descriptor.js";
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
  const copied: ReferrerCopy[] = [];
  await walkAttachments(src, subjects, {
    cosignTags: false,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
    ...(opts.maxReferrers !== undefined ? { maxAttachments: opts.maxReferrers } : {}),
    visit: async (a) => {
      const result = await copyOne(a.descriptor);
      copied.push({ descriptor: a.descriptor, subject: a.subject, plan: result.plan, ...(result.stats ? { stats: result.stats } : {}) });
      // A referrer's own manifests may be referred to in turn (a signature of a kit of an image).
      return manifestsOf(result.plan);
    },
  });
  return copied;
}

/** Every manifest of a copied graph: the subjects whose referrers travel with it. */
export function manifestsOf(plan: CopyPlan): Descriptor[] {
  return plan.nodes.filter((n) => n.kind === "manifest").map((n) => n.descriptor);
}

export type { CopyDestination };
