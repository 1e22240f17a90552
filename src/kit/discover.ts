/**
 * Which kits run on an image: the kits attached to it (`kit push --attach`)
 * are its referrers of the kit artifact type, found with the referrers API,
 * the `sha256-<hex>` fallback index, or the subjects an OCI layout (the local
 * store among them) records. `all` lists every referrer, as a tree of
 * referrers of referrers (signatures of kits, SBOMs), bounded in depth and
 * count. Names and versions come from the referrers' annotations: claims
 * for listing; `kit pull` checks the kit itself.
 */
import {
  type Descriptor,
  formatReference,
  MediaType,
  parseTargetReference,
  type PredecessorFinder,
  type TargetReference,
  UnsupportedError,
  UsageError,
  walkAttachments,
} from "../oras/content.js";
import { openTarget, resolveTarget } from "../oras/index.js";
import type { RemoteOptions } from "../oras/remote/index.js";
import { Annotation, KIT_ARTIFACT_TYPE } from "./format.js";
import { withDefaultCredentials } from "./remote-defaults.js";
import { KitStore } from "./store.js";

export interface DiscoveredKit {
  name: string | null;
  version: string | null;
  digest: string;
  /** Where the kit sits next to its image: `REGISTRY/IMAGE_REPO@sha256:…` (or `oci:PATH@sha256:…`). */
  reference: string;
}

export interface DiscoveredReferrer {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string>;
  /** Its own referrers (with `all`). */
  referrers: DiscoveredReferrer[];
}

export interface Discovery {
  /** The image as resolved: `REGISTRY/REPO@sha256:…`. */
  subject: string;
  digest: string;
  kits: DiscoveredKit[];
  /** With `all`: every referrer of the image, each with its own. */
  referrers?: DiscoveredReferrer[];
}

export interface DiscoverOptions {
  remote?: RemoteOptions;
  /** Look in the local store (a path or an open one) instead of the image's registry. */
  store?: string | KitStore;
  /** Every referrer of any artifact type, as a tree. */
  all?: boolean;
}

export async function discoverKits(image: string | TargetReference, opts: DiscoverOptions = {}): Promise<Discovery> {
  const ref = typeof image === "string" ? parseTargetReference(image) : image;
  let finder: PredecessorFinder;
  let subject: Descriptor;
  if (opts.store !== undefined && ref.kind === "registry") {
    // The store holds kits, not (usually) their images: the image is named by its digest, and only referrers are looked up.
    if (ref.digest === undefined) {
      throw new UsageError(`kit discover --local needs the image by digest: "${formatReference(ref)}" names none`, { hint: "write IMAGE@sha256:… (as a kit's pinned image is)" });
    }
    const store = opts.store instanceof KitStore ? opts.store : await KitStore.openToFind(formatReference(ref), opts.store);
    finder = store.layout;
    subject = { mediaType: MediaType.ImageManifest, digest: ref.digest, size: 0 };
  } else {
    const opened = await openTarget(ref, { remote: withDefaultCredentials(opts.remote) });
    finder = opened.target;
    subject = await resolveTarget(opened);
  }
  const at = (digest: string) => formatReference({ ...ref, tag: undefined, digest });
  const found = opts.all ? await referrerTree(finder, subject) : undefined;
  const kitDescriptors = found
    ? found.filter((r) => r.artifactType === KIT_ARTIFACT_TYPE).map((r) => ({ digest: r.digest, annotations: r.annotations }))
    : (await finder.predecessors(subject, { artifactType: KIT_ARTIFACT_TYPE })).map((d) => ({ digest: d.digest, annotations: d.annotations ?? {} }));
  const kits = kitDescriptors.map((d) => ({
    name: d.annotations[Annotation.Title] ?? null,
    version: d.annotations[Annotation.Version] ?? null,
    digest: d.digest,
    reference: at(d.digest),
  }));
  return { subject: at(subject.digest), digest: subject.digest, kits, ...(found ? { referrers: found } : {}) };
}

/** Referrers of subject, and theirs, as a tree; the walk is the one every attachment walk is (breadth first, each digest once, bounded). */
async function referrerTree(finder: PredecessorFinder, subject: Descriptor): Promise<DiscoveredReferrer[]> {
  if (typeof finder.predecessors !== "function") throw new UnsupportedError("this target cannot list referrers");
  const top: DiscoveredReferrer[] = [];
  const nodes = new Map<string, DiscoveredReferrer>();
  for (const { descriptor: d, subject: of } of await walkAttachments(finder, [subject], { cosignTags: false })) {
    const node: DiscoveredReferrer = { digest: d.digest, mediaType: d.mediaType, size: d.size, artifactType: d.artifactType ?? null, annotations: d.annotations ?? {}, referrers: [] };
    nodes.set(d.digest, node);
    (of === subject.digest ? top : nodes.get(of)!.referrers).push(node);
  }
  return top;
}
