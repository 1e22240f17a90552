/**
 * Planning a bundle before a byte of it is written: each kit's closure (the
 * kit and the base image it pins, every platform), every graph walked with
 * bounded manifest fetches (copy's planner, against an empty destination),
 * blobs shared between roots taken once. Knowing everything first is what
 * lets index.json and the manifests lead the tar, so a listing reads only
 * its head and a loader knows what every later blob is.
 */
import { type Descriptor, InvalidContentError, MemoryStore, parseDigest, type ReadOnlyStorage, type RegistryReference } from "../../oras/content.js";
import { manifestsOf, planCopy, type CopyPlan } from "../../oras/copy/index.js";
import type { CopySource } from "../../oras/index.js";
import type { RemoteOptions } from "../../oras/remote/index.js";
import { findAttachments } from "../attachments.js";
import { kitClosure } from "../closure.js";
import type { KitReference } from "../reference.js";
import { entryDescriptor, type KitStore } from "../store.js";
import { validatedKitOf } from "../store-validated.js";
import { type BundleRoot, indexJson, rootName } from "./roots.js";

export interface SavePlanOptions {
  remote?: RemoteOptions;
  allowUnpinned?: boolean;
  store?: string | KitStore;
  /** Manifest fetches at once while planning. */
  concurrency?: number;
  /** Carry what is attached to every kit and image (referrers, cosign .sig/.att/.sbom tags). Default true. */
  referrers?: boolean;
  signal?: AbortSignal;
}

/** One file of the bundle, and where its bytes come from. */
export interface PlannedBlob {
  descriptor: Descriptor;
  source: ReadOnlyStorage;
  /** The plan that fetched (and may have kept) it, for manifests. */
  plan: CopyPlan;
}

export interface SavePlan {
  roots: BundleRoot[];
  indexJson: Buffer;
  /** Manifests, parents before children (what index.json names first). */
  manifests: PlannedBlob[];
  /** Configs and layers. */
  blobs: PlannedBlob[];
  /** Bytes of every manifest and blob. */
  bytes: number;
  /** Images whose kits were unpinned: resolved by tag now (`REGISTRY/REPO:TAG` → digest). */
  resolvedUnpinned: string[];
}

interface SourcedRoot {
  root: BundleRoot;
  source: CopySource;
  /** The original reference the root is named after. */
  ref: RegistryReference;
}

export async function planBundle(references: readonly (string | KitReference)[], opts: SavePlanOptions = {}): Promise<SavePlan> {
  const sourced: SourcedRoot[] = [];
  const resolvedUnpinned: string[] = [];
  const signal = opts.signal ? { signal: opts.signal } : {};
  for (const reference of references) {
    const closure = await kitClosure(reference, {
      ...(opts.remote ? { remote: opts.remote } : {}),
      ...(opts.allowUnpinned ? { allowUnpinned: true } : {}),
      ...(opts.store !== undefined ? { store: opts.store } : {}),
    });
    const { kit, image } = closure;
    sourced.push({
      root: { kind: "kit", reference: rootName(kit.reference, kit.descriptor.digest), descriptor: entryDescriptor(kit.descriptor, kit.kit), kit: validatedKitOf(kit.kit) },
      source: kit.source,
      ref: kit.reference,
    });
    const named = image.reference.digest ?? image.reference.tag!;
    const resolved = await image.source.resolve(named, signal);
    if (image.reference.digest === undefined) resolvedUnpinned.push(`${rootName(image.reference, resolved.digest)} → ${resolved.digest}`);
    const imageDesc: Descriptor = { mediaType: resolved.mediaType, digest: resolved.digest, size: resolved.size };
    sourced.push({ root: { kind: "image", reference: rootName(image.reference, resolved.digest), descriptor: imageDesc }, source: image.source, ref: image.reference });
  }
  // Each graph is planned once (against nothing: a bundle starts empty), whether for its attachments or its blobs.
  const empty = new MemoryStore("the bundle");
  // By digest, with the source that was read: the same graph reached through two repositories is read from the first.
  const planned = new Map<string, { source: ReadOnlyStorage; plan: Promise<CopyPlan> }>();
  const sourcedPlan = (source: ReadOnlyStorage, descriptor: Descriptor) => {
    let entry = planned.get(descriptor.digest);
    if (entry === undefined) {
      entry = { source, plan: planCopy(source, empty, descriptor, { ...signal, ...(opts.concurrency ? { concurrency: opts.concurrency } : {}) }) };
      planned.set(descriptor.digest, entry);
    }
    return entry;
  };
  const planOf = (source: ReadOnlyStorage, descriptor: Descriptor): Promise<CopyPlan> => sourcedPlan(source, descriptor).plan;
  if (opts.referrers !== false) sourced.push(...(await attachmentRoots(sourced, planOf, signal)));
  const roots = distinctRoots(sourced);

  const manifests = new Map<string, PlannedBlob>();
  const blobs = new Map<string, PlannedBlob>();
  const merged = new Set<string>();
  for (const { root, source: named } of roots) {
    const digest = root.descriptor.digest;
    if (merged.has(digest)) continue;
    merged.add(digest);
    const { source, plan: planning } = sourcedPlan(named, root.descriptor);
    const plan = await planning;
    // Reversed children-first order is parents-first: a reader meets every manifest after the one naming it.
    for (const node of [...plan.nodes].reverse()) {
      if (node.action === "skip") continue; // a foreign layer stays at its URLs, as in every copy
      const into = node.kind === "manifest" ? manifests : blobs;
      const seen = manifests.get(node.descriptor.digest) ?? blobs.get(node.descriptor.digest);
      if (seen) {
        if (seen.descriptor.size !== node.descriptor.size) {
          throw new InvalidContentError(`${node.descriptor.digest} is ${node.descriptor.size} bytes under ${digest}, but ${seen.descriptor.size} elsewhere in the bundle`);
        }
        continue;
      }
      into.set(node.descriptor.digest, { descriptor: node.descriptor, source, plan });
    }
  }
  // Blobs in children-first order again, so each image's config comes before its layers.
  const blobList = [...blobs.values()].reverse();
  const all = [...manifests.values(), ...blobList];
  for (const b of all) parseDigest(b.descriptor.digest);
  const bundleRoots = roots.map((r) => r.root);
  return {
    roots: bundleRoots,
    indexJson: indexJson(bundleRoots),
    manifests: [...manifests.values()],
    blobs: blobList,
    bytes: all.reduce((sum, b) => sum + b.descriptor.size, 0),
    resolvedUnpinned,
  };
}

/**
 * What is attached to each root and to every manifest under it, as roots of
 * its own: named `REPO:sha256-<hex>.sig` (cosign's tags, kept as tags) or
 * `REPO@DIGEST` (referrers), in the repository of what they are attached to.
 * They follow their subjects in index.json.
 */
async function attachmentRoots(
  sourced: readonly SourcedRoot[],
  planOf: (source: ReadOnlyStorage, d: Descriptor) => Promise<CopyPlan>,
  signal: { signal?: AbortSignal },
): Promise<SourcedRoot[]> {
  const out: SourcedRoot[] = [];
  // Per repository: a kit attached to its image (kit push --attach) travels into the image's repository as well.
  const key = (ref: RegistryReference, digest: string, tag?: string) => `${ref.registry}/${ref.repository} ${digest} ${tag ?? ""}`;
  const seen = new Set(sourced.map((s) => key(s.ref, s.root.descriptor.digest, s.ref.digest === undefined ? s.ref.tag : undefined)));
  const untagged = new Set(sourced.map((s) => key(s.ref, s.root.descriptor.digest)));
  for (const { root, source, ref } of sourced) {
    const subjects = manifestsOf(await planOf(source, root.descriptor));
    // An attachment may be an index: what is attached to its manifests travels too.
    const graphOf = async (d: Descriptor) => manifestsOf(await planOf(source, d));
    for (const a of await findAttachments(source, subjects, { ...signal, graphOf })) {
      const k = key(ref, a.descriptor.digest, a.tag);
      if (seen.has(k) || (a.tag === undefined && untagged.has(key(ref, a.descriptor.digest)))) continue;
      seen.add(k);
      untagged.add(key(ref, a.descriptor.digest));
      const named: RegistryReference = a.tag !== undefined ? { ...ref, tag: a.tag, digest: undefined } : { ...ref, tag: undefined, digest: a.descriptor.digest };
      const descriptor: Descriptor = { mediaType: a.descriptor.mediaType, digest: a.descriptor.digest, size: a.descriptor.size };
      if (a.descriptor.artifactType !== undefined) descriptor.artifactType = a.descriptor.artifactType;
      out.push({ root: { kind: "attachment", reference: rootName(named, a.descriptor.digest), descriptor }, source, ref: named });
    }
  }
  return out;
}

/**
 * One entry per name and digest. A name given to two different digests
 * (two kits pinning the same tag at different times) would make the tag
 * mean either: each of those is named by its digest instead.
 */
function distinctRoots(sourced: readonly SourcedRoot[]): SourcedRoot[] {
  const unique = onePerNameAndDigest(sourced);
  const digestsByName = new Map<string, Set<string>>();
  for (const { root } of unique) {
    const digests = digestsByName.get(root.reference!) ?? new Set<string>();
    digests.add(root.descriptor.digest);
    digestsByName.set(root.reference!, digests);
  }
  return onePerNameAndDigest(
    unique.map((s) =>
      digestsByName.get(s.root.reference!)!.size === 1 ? s : { ...s, root: { ...s.root, reference: rootName({ ...s.ref, tag: undefined }, s.root.descriptor.digest) } },
    ),
  );
}

function onePerNameAndDigest(list: readonly SourcedRoot[]): SourcedRoot[] {
  const seen = new Set<string>();
  return list.filter(({ root }) => {
    const key = `${root.reference} ${root.descriptor.digest}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
