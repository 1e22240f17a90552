/**
 * What a mirror copies, before anything is asked of the destination: each
 * kit named (by reference, or by a repository's tags chosen in a mirror
 * list) and the base image it pins, as roots in the order they must land
 * (an image before the kits that pin it), one root per destination
 * repository and digest, each with the tags it gets there. Two source
 * repositories that would share one destination repository are refused
 * here, before anything is planned or copied.
 */
import { findAttachments } from "./attachments.js";
import { MemoryStore } from "../oras/content.js";
import { manifestsOf, planCopy, type CopyPlan } from "../oras/copy/index.js";
import {
  type Descriptor,
  formatMirrorLocation,
  formatReference,
  mirroredReference,
  NotFoundError,
  parseReference,
  type MirrorLocation,
  type RegistryReference,
  UsageError,
} from "../oras/content.js";
import { Semaphore, type CopySource } from "../oras/index.js";
import { RemoteRepository, type RemoteOptions } from "../oras/remote/index.js";
import { kitClosure, type ClosureOptions } from "./closure.js";
import type { MirrorListEntry, MirrorListRepository } from "./mirror-list.js";
import { parseKitReference } from "./reference.js";
import { parseSemverRange, parseTagGlob, tagVersion } from "./tag-selection.js";

/** How many kits are read from their registries at once. */
const CLOSURE_CONCURRENCY = 4;

/** attachment: a referrer or cosign .sig/.att/.sbom tag of a kit, an image or one of its platforms. */
export type MirrorRootKind = "kit" | "image" | "attachment";

/** One graph to copy, its source opened. */
export interface SourcedRoot {
  kind: MirrorRootKind;
  /** As the publisher names it, tag (when one was given) and digest. */
  source: RegistryReference & { digest: string };
  /** Where the bytes are read: the registry, or (a kit named from it) the local store. */
  origin: "registry" | "store";
  reader: CopySource;
  /** The repository at the mirror, and the digest. */
  destination: RegistryReference & { digest: string };
  /** The tags the destination gets, in the order they were named. */
  tags: string[];
  /** Image roots: the kits pinning it (source references). Kit roots: the image root's destination. */
  kits: string[];
  image?: string;
  /** An image of an unpinned kit, resolved by its tag now. */
  unpinned?: true;
  /**
   * The root's graph as read when its attachments were looked for (planned
   * against nothing): its manifests are not fetched again when the root is
   * planned against the destination.
   */
  graph?: CopyPlan;
}

export interface MirrorRootsOptions extends Omit<ClosureOptions, "remote"> {
  remote: RemoteOptions;
  signal?: AbortSignal;
  /** Carry what is attached to the kits and images (signatures, SBOMs, referrers). Default true. */
  referrers?: boolean;
}

/** The roots for these entries at `location`, and the warnings found on the way. */
export async function mirrorRoots(
  entries: readonly MirrorListEntry[],
  location: MirrorLocation,
  opts: MirrorRootsOptions,
): Promise<{ roots: SourcedRoot[]; warnings: string[] }> {
  const warnings: string[] = [];
  const references: string[] = [];
  for (const entry of entries) {
    if (typeof entry === "string") references.push(entry);
    else references.push(...(await chosenTags(entry, opts, warnings)));
  }
  const slots = new Semaphore(CLOSURE_CONCURRENCY);
  const closures = await Promise.all(
    references.map(async (reference) => {
      const release = await slots.acquire(opts.signal);
      try {
        return await kitClosure(parseKitReference(reference), opts);
      } finally {
        release();
      }
    }),
  );

  const roots = new Map<string, SourcedRoot>();
  const claim = destinationClaims(location);
  const add = (root: SourcedRoot): SourcedRoot => {
    claim(root);
    const key = formatReference(root.destination);
    const seen = roots.get(key);
    if (seen === undefined) {
      roots.set(key, root);
      return root;
    }
    for (const tag of root.tags) if (!seen.tags.includes(tag)) seen.tags.push(tag);
    for (const kit of root.kits) if (!seen.kits.includes(kit)) seen.kits.push(kit);
    return seen;
  };
  for (const { kit, image } of closures) {
    const kitName = formatReference(kit.reference);
    let imageRef = image.reference;
    let unpinned = false;
    if (imageRef.digest === undefined) {
      // kitClosure accepted an unpinned kit only because it was asked to: its image travels as its tag resolves now.
      const resolved = await image.source.resolve(imageRef.tag!, opts.signal ? { signal: opts.signal } : {});
      imageRef = { ...imageRef, digest: resolved.digest };
      unpinned = true;
      warnings.push(`kit ${kitName} is unpinned: its image ${formatReference(image.reference)} was resolved now, to ${resolved.digest}, and is mirrored by that digest`);
    }
    const imageRoot = add({
      kind: "image",
      source: imageRef as RegistryReference & { digest: string },
      origin: "registry",
      reader: image.source,
      destination: atMirror(imageRef, location),
      tags: imageRef.tag !== undefined ? [imageRef.tag] : [],
      kits: [kitName],
      ...(unpinned ? { unpinned: true as const } : {}),
    });
    add({
      kind: "kit",
      source: kit.reference,
      origin: kit.source instanceof RemoteRepository ? "registry" : "store",
      reader: kit.source,
      destination: atMirror(kit.reference, location),
      tags: kit.reference.tag !== undefined ? [kit.reference.tag] : [],
      kits: [],
      image: formatReference(imageRoot.destination),
    });
  }
  if (opts.referrers !== false) {
    for (const root of [...roots.values()]) for (const a of await attachmentRootsOf(root, location, opts)) add(a);
  }
  const ordered = [...roots.values()];
  warnings.push(...settleTagClaims(ordered));
  return { roots: ordered, warnings };
}

/**
 * What is attached to a root's manifests, as roots after it in the same
 * repository: a cosign tag keeps its tag, a referrer travels by digest (the
 * destination indexes it under its subject as it arrives).
 */
async function attachmentRootsOf(root: SourcedRoot, location: MirrorLocation, opts: MirrorRootsOptions): Promise<SourcedRoot[]> {
  const signal = opts.signal ? { signal: opts.signal } : {};
  const empty = new MemoryStore("the mirror plan");
  const graphOf = async (descriptor: Descriptor): Promise<CopyPlan> => planCopy(root.reader, empty, descriptor, signal);
  root.graph ??= await graphOf(await root.reader.resolve(root.source.digest, signal));
  const graphs = new Map<string, CopyPlan>();
  const found = await findAttachments(root.reader, manifestsOf(root.graph), {
    ...signal,
    // An attachment may be an index: what is attached to its manifests travels too.
    graphOf: async (d) => {
      const plan = await graphOf(d);
      graphs.set(d.digest, plan);
      return manifestsOf(plan);
    },
  });
  return found.map((a) => {
    const source = { ...root.source, tag: undefined, digest: a.descriptor.digest };
    const graph = graphs.get(a.descriptor.digest);
    return {
      kind: "attachment" as const,
      source,
      origin: root.origin,
      reader: root.reader,
      destination: atMirror(source, location),
      tags: a.tag !== undefined ? [a.tag] : [],
      kits: [],
      ...(graph !== undefined ? { graph } : {}),
    };
  });
}

/** The reference at the mirror, by digest (tags are set apart, on the root). */
function atMirror(ref: RegistryReference, location: MirrorLocation): RegistryReference & { digest: string } {
  const { tag: _tag, ...untagged } = mirroredReference(ref, location);
  return untagged as RegistryReference & { digest: string };
}

/** The `REPO:TAG` references a repository entry chooses, listed at the source. */
async function chosenTags(entry: MirrorListRepository, opts: MirrorRootsOptions, warnings: string[]): Promise<string[]> {
  const repo = parseReference(entry.repository);
  const globs = (entry.tags ?? []).map(parseTagGlob);
  const range = entry.semver !== undefined ? parseSemverRange(entry.semver) : undefined;
  const chosen: string[] = [];
  const source = new RemoteRepository(repo, opts.remote);
  for await (const tag of source.tags(opts.signal ? { signal: opts.signal } : {})) {
    const version = range !== undefined ? tagVersion(tag) : undefined;
    if (globs.some((g) => g(tag)) || (version !== undefined && range!(version))) chosen.push(`${source.name}:${tag}`);
  }
  // In tag order, whatever order the registry lists them in.
  chosen.sort();
  if (chosen.length === 0) {
    const rules = [entry.tags !== undefined ? `tags ${JSON.stringify(entry.tags)}` : "", entry.semver !== undefined ? `semver "${entry.semver}"` : ""].filter(Boolean);
    warnings.push(`${source.name}: no tag matches ${rules.join(" or ")}; nothing of it is mirrored`);
  }
  return chosen;
}

/**
 * The mirror keeps each repository's path and drops its registry, so
 * `ghcr.io/org/kit` and `quay.io/org/kit` would land in one repository: the
 * second claim is refused, naming both, before anything is copied.
 */
function destinationClaims(location: MirrorLocation): (root: SourcedRoot) => void {
  const owner = new Map<string, string>();
  return (root) => {
    const at = `${root.destination.registry}/${root.destination.repository}`;
    const from = `${root.source.registry}/${root.source.repository}`;
    const first = owner.get(at);
    if (first === undefined) owner.set(at, from);
    else if (first !== from) {
      throw new UsageError(
        `${first} and ${from} would both be mirrored as ${at}: the mirror keeps a repository's path under ${formatMirrorLocation(location)} and drops its registry host, so repositories of two registries with the same path collide`,
        { hint: "mirror each source registry under its own prefix, in separate runs (--to HOST/PREFIX/REGISTRY)" },
      );
    }
  };
}

/**
 * A tag names one manifest: when two roots of one repository claim it (two
 * kits pinning `base:1` at different digests), the last one named keeps it.
 */
function settleTagClaims(roots: readonly SourcedRoot[]): string[] {
  const warnings: string[] = [];
  const claims = new Map<string, SourcedRoot>();
  for (const root of roots) {
    for (const tag of root.tags) {
      const name = `${root.destination.registry}/${root.destination.repository}:${tag}`;
      const earlier = claims.get(name);
      if (earlier !== undefined && earlier !== root) {
        earlier.tags = earlier.tags.filter((t) => t !== tag);
        warnings.push(`${name} is named at two digests, ${earlier.source.digest} (${describe(earlier)}) and ${root.source.digest} (${describe(root)}): it is given to the last`);
      }
      claims.set(name, root);
    }
  }
  return warnings;
}

function describe(root: SourcedRoot): string {
  return root.kind === "image" ? `pinned by ${root.kits.join(", ")}` : `kit ${formatReference(root.source)}`;
}

/** Tags a destination repository has: absent is null, never an error. */
export async function currentDigest(repo: RemoteRepository, tag: string, signal?: AbortSignal): Promise<string | null> {
  try {
    return (await repo.resolve(tag, signal ? { signal } : {})).digest;
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}
