/**
 * Copying what refers to a graph along with it (oras-go's ExtendedCopy, for
 * `copy -r`): after the graph under a root is at the destination, every
 * manifest in it is asked for its referrers (signatures, SBOMs, kits), each
 * referrer's own graph is copied, and its referrers after it — subjects
 * always before their referrers, so a destination without the referrers API
 * can index each one as it arrives. The walk is src/oras/attachments.ts's,
 * bounded in count and depth: OCI referrers, and cosign's tag-named
 * attachments (`sha256-<hex>.sig`, `.att`, `.sbom`: signatures that older
 * tools and registries without `subject` keep), which arrive under the same
 * tag.
 */
import { walkAttachments } from "../attachments.js";
import type { Descriptor } from "../descriptor.js";
import type { PredecessorFinder, ReadOnlyStorage, Resolver } from "../target.js";
import type { CopyDestination, CopyStats } from "./execute.js";
import type { CopyPlan } from "./plan.js";

export interface ReferrerCopy {
  /** The referrer copied. */
  descriptor: Descriptor;
  /** Set for a cosign tag-named attachment: the tag it has at the source and got at the destination. */
  tag?: string;
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
  /** Also cosign's tag-named attachments (default true, when the source resolves tags). */
  cosignTags?: boolean;
}

/** What a source must be for its referrers to be found: predecessors for referrers, a resolver for cosign's tags. */
export type ReferrerSource = ReadOnlyStorage & Partial<PredecessorFinder & Resolver>;

/**
 * Copy the referrers of every manifest in `subjects` (and theirs, in turn).
 * `copyOne` copies one referrer's graph (the caller's copy options) and
 * returns the plan it ran; the manifests of that graph are walked next.
 */
export async function copyReferrers(
  src: ReferrerSource,
  subjects: readonly Descriptor[],
  copyOne: (referrer: Descriptor, tag: string | undefined) => Promise<{ plan: CopyPlan; stats?: CopyStats }>,
  opts: ReferrersWalkOptions = {},
): Promise<ReferrerCopy[]> {
  const cosignTags = (opts.cosignTags ?? true) && typeof src.resolve === "function";
  if (typeof src.predecessors !== "function" && !cosignTags) return [];
  const copied: ReferrerCopy[] = [];
  await walkAttachments(src, subjects, {
    cosignTags,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
    ...(opts.maxReferrers !== undefined ? { maxAttachments: opts.maxReferrers } : {}),
    visit: async (a) => {
      const result = await copyOne(a.descriptor, a.tag);
      copied.push({ descriptor: a.descriptor, ...(a.tag !== undefined ? { tag: a.tag } : {}), subject: a.subject, plan: result.plan, ...(result.stats ? { stats: result.stats } : {}) });
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
