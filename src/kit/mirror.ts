/**
 * `kit mirror`: copy kits and the base images they pin (whole indexes, every
 * platform) into another registry, each repository keeping its path under a
 * prefix (src/oras/mirror-location.ts). Planning is read-only and gives plain
 * data (`--dry-run`, `--json`); executing copies root after root with the
 * copy engine, children first and tags last, an image before the kits that
 * pin it. So a mirror killed at any point leaves no manifest whose children
 * are missing and no tag on anything incomplete, and run again it completes
 * (a manifest found at the destination is still descended into).
 *
 * A blob moves into the destination registry once: a root whose repository
 * lacks a blob that an earlier root's repository holds (or is about to)
 * mounts it from there, and a root sharing a repository with an earlier one
 * skips what that one copies.
 */
import {
  type Descriptor,
  formatMirrorLocation,
  formatReference,
  InvalidContentError,
  type MirrorLocation,
  parseMirrorLocation,
  parseReference,
} from "../oras/content.js";
import {
  cachedManifest,
  copyStrategy,
  countingRetries,
  executeCopy,
  planCopy,
  type CopyPlan,
  type CopyProgressEvent,
  type CopySource,
  type CopyStats,
  type NodeAction,
} from "../oras/index.js";
import { RemoteRegistry, RemoteRepository, type RemoteOptions } from "../oras/remote/index.js";
import type { MirrorList, MirrorListEntry } from "./mirror-list.js";
import { currentDigest, mirrorRoots, type MirrorRootKind, type SourcedRoot } from "./mirror-roots.js";
import { withDefaultCredentials } from "./remote-defaults.js";
import { KitStore } from "./store.js";

export type { MirrorRootKind } from "./mirror-roots.js";

export interface MirrorOptions {
  remote?: RemoteOptions;
  /** Accept kits pushed with --no-pin: their image is mirrored as its tag resolves now (a warning says so). */
  allowUnpinned?: boolean;
  /** The local store, for kits named by short references. Default: $KIT_STORE or ~/.aegis/kits/store. */
  store?: string | KitStore;
  /** Existence checks and manifest fetches (planning), transfers (executing) at once. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Carry what is attached to the kits and images (signatures, SBOMs, referrers). Default true. */
  referrers?: boolean;
}

/** A tag the destination gets, and the digest it points at there before the mirror (null: absent). */
export interface MirrorTag {
  tag: string;
  current: string | null;
}

/** One graph of the mirror: a kit, or a base image with every platform. Plain, JSON-safe data. */
export interface MirrorRoot {
  kind: MirrorRootKind;
  /** As published or pinned: `REGISTRY/REPO[:TAG]@DIGEST`. */
  source: string;
  /** Where it is read: its registry, or (a kit named by a short reference) the local store. */
  origin: "registry" | "store";
  /** `HOST/PREFIX/REPO@DIGEST`. */
  destination: string;
  digest: string;
  mediaType: string;
  size: number;
  /** Set after everything else of the root is stored: the kit's tag as named, the image's tag from the pin. */
  tags: MirrorTag[];
  /** Image roots: the kits that pin it. */
  kits?: string[];
  /** Kit roots: the destination of its image. */
  image?: string;
  /** An image of an unpinned kit (allowUnpinned), resolved by its tag when planned. */
  unpinned?: true;
  actions: Record<NodeAction, number>;
  plan: CopyPlan;
}

export interface MirrorPlan {
  /** `HOST[:PORT][/PREFIX]`. */
  destination: string;
  /** In the order they are copied: an image before the kits that pin it. */
  roots: MirrorRoot[];
  /** Bytes of every distinct node of every root. */
  totalBytes: number;
  /** Bytes that will be uploaded (each blob once; mounts and skips move none). */
  bytesToTransfer: number;
  warnings: string[];
}

export type MirrorRootResult = MirrorRoot & { stats: CopyStats };

export interface MirrorResult extends Omit<MirrorPlan, "roots"> {
  roots: MirrorRootResult[];
  bytesTransferred: number;
}

/** A copy event, and the root (its destination reference) it belongs to. */
export type MirrorProgressEvent = CopyProgressEvent & { root: string };

export interface ExecuteMirrorOptions extends MirrorOptions {
  onProgress?: (event: MirrorProgressEvent) => void;
}

/** References (as on the command line) and repository entries, or a whole mirror list. */
export type MirrorInput = readonly MirrorListEntry[] | MirrorList;

/**
 * Plan the mirror of these kits (and their images) to `destination`; reads
 * the sources and the destination, writes nothing. Refuses, before any
 * planning, unpinned kits (without allowUnpinned) and two source
 * repositories that would share a destination repository.
 */
export async function mirrorKits(kits: MirrorInput, destination: MirrorLocation | string, opts: MirrorOptions = {}): Promise<MirrorPlan> {
  const location = typeof destination === "string" ? parseMirrorLocation(destination) : destination;
  const entries = "kits" in kits ? kits.kits : kits;
  const remote = withDefaultCredentials(opts.remote);
  const { roots, warnings } = await mirrorRoots(entries, location, {
    remote,
    ...(opts.allowUnpinned !== undefined ? { allowUnpinned: opts.allowUnpinned } : {}),
    ...(opts.store !== undefined ? { store: opts.store } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.referrers !== undefined ? { referrers: opts.referrers } : {}),
  });
  const registry = new RemoteRegistry(location.registry, remote);
  const ledger = new Ledger();
  const planned: MirrorRoot[] = [];
  // One root after another: each plans knowing what the ones before it will have put where.
  for (const root of roots) {
    const repo = registry.repository(root.destination.repository);
    planned.push(await planRoot(root, repo, ledger, opts));
    for (const t of planned.at(-1)!.tags) {
      if (t.current !== null && t.current !== root.source.digest) {
        warnings.push(`${repo.name}:${t.tag} points at ${t.current} at the destination: the mirror moves it to ${root.source.digest}, the ${root.kind === "image" ? "pinned image" : "kit"}`);
      }
    }
  }
  const sizes = new Map<string, number>();
  for (const root of planned) for (const node of root.plan.nodes) sizes.set(node.descriptor.digest, node.descriptor.size);
  return {
    destination: formatMirrorLocation(location),
    roots: planned,
    totalBytes: [...sizes.values()].reduce((a, b) => a + b, 0),
    bytesToTransfer: planned.reduce((sum, r) => sum + r.plan.bytesToTransfer, 0),
    warnings,
  };
}

async function planRoot(root: SourcedRoot, repo: RemoteRepository, ledger: Ledger, opts: MirrorOptions): Promise<MirrorRoot> {
  const signal = opts.signal ? { signal: opts.signal } : {};
  const descriptor = root.graph?.root ?? (await root.reader.resolve(root.source.digest, signal));
  const strategy = strategyFor(root.reader, repo);
  // What an earlier root of this run puts into this repository is there by the time this one runs.
  const view = {
    name: repo.name,
    exists: async (desc: Descriptor) => ledger.holds(repo.repository, desc.digest) || (await repo.exists(desc, signal)),
    fetch: repo.fetch.bind(repo),
    mount: repo.mount.bind(repo),
  };
  const plan = await planCopy(root.reader, view, descriptor, {
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...signal,
    ...(root.graph ? { knownManifest: (digest: string) => cachedManifest(root.graph!, digest) } : {}),
    mountFrom: (desc) => ledger.holder(desc.digest, repo.repository) ?? (typeof strategy.mountFrom === "string" ? strategy.mountFrom : undefined),
  });
  for (const node of plan.nodes) if (node.reason !== "foreign") ledger.add(repo.repository, node.descriptor.digest);
  const tags = await Promise.all(root.tags.map(async (tag) => ({ tag, current: await currentDigest(repo, tag, opts.signal) })));
  const actions: Record<NodeAction, number> = { skip: 0, mount: 0, upload: 0 };
  for (const node of plan.nodes) actions[node.action]++;
  return {
    kind: root.kind,
    source: formatReference(root.source),
    origin: root.origin,
    destination: formatReference(root.destination),
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    size: descriptor.size,
    tags,
    ...(root.kind === "image" ? { kits: root.kits } : {}),
    ...(root.image !== undefined ? { image: root.image } : {}),
    ...(root.unpinned ? { unpinned: true as const } : {}),
    actions,
    plan,
  };
}

/** Registry to registry: no hashing here (the destination checks every digest), mounts within one registry. */
function strategyFor(reader: CopySource, dst: RemoteRepository) {
  if (!(reader instanceof RemoteRepository)) return {};
  const ref = (r: RemoteRepository) => ({ kind: "registry" as const, registry: r.registry, repository: r.repository });
  return copyStrategy({ kind: "registry", ref: ref(reader), target: reader }, { kind: "registry", ref: ref(dst), target: dst });
}

/** Which destination repositories hold (or, once earlier roots ran, will hold) which digests. */
class Ledger {
  private readonly byDigest = new Map<string, Set<string>>();

  add(repository: string, digest: string): void {
    let repos = this.byDigest.get(digest);
    if (repos === undefined) this.byDigest.set(digest, (repos = new Set()));
    repos.add(repository);
  }

  holds(repository: string, digest: string): boolean {
    return this.byDigest.get(digest)?.has(repository) ?? false;
  }

  /** A repository other than `except` that holds digest. */
  holder(digest: string, except: string): string | undefined {
    for (const repo of this.byDigest.get(digest) ?? []) if (repo !== except) return repo;
    return undefined;
  }
}

/**
 * Copy what the plan says, root after root in its order; each root's tags
 * are set once its whole graph is stored. The first failure stops the
 * mirror; running it again (planning afresh) completes it.
 */
export async function executeMirror(plan: MirrorPlan, opts: ExecuteMirrorOptions = {}): Promise<MirrorResult> {
  const location = parseMirrorLocation(plan.destination);
  const counted = countingRetries(withDefaultCredentials(opts.remote));
  const sources = new Sources(counted.remote, opts.store);
  const registry = new RemoteRegistry(location.registry, counted.remote);
  const results: MirrorRootResult[] = [];
  for (const root of plan.roots) {
    const reader = await sources.open(root);
    const dst = registry.repository(parseReference(root.destination).repository);
    const before = { ...counted.counts };
    const [first, ...more] = root.tags.map((t) => t.tag);
    const stats = await executeCopy(reader, dst, root.plan, {
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: (event: CopyProgressEvent) => opts.onProgress!({ ...event, root: root.destination }) } : {}),
      ...(first !== undefined ? { tag: first } : {}),
      verifySource: strategyFor(reader, dst).verifySource ?? true,
    });
    for (const tag of more) {
      await dst.tag(root.plan.root, tag, opts.signal ? { signal: opts.signal } : {});
      opts.onProgress?.({ type: "tag", descriptor: root.plan.root, tag, root: root.destination });
    }
    stats.retries += counted.counts.retries - before.retries;
    stats.resumes += counted.counts.resumes - before.resumes;
    results.push({ ...root, stats });
  }
  return { ...plan, roots: results, bytesTransferred: results.reduce((sum, r) => sum + r.stats.bytesTransferred, 0) };
}

/** The sources of a plan's roots, opened from its data: registry repositories sharing a client per registry, or the local store. */
class Sources {
  private readonly registries = new Map<string, RemoteRegistry>();
  private store: Promise<KitStore> | undefined;

  constructor(
    private readonly remote: RemoteOptions,
    private readonly storeOption: string | KitStore | undefined,
  ) {}

  async open(root: MirrorRoot): Promise<CopySource> {
    const ref = parseReference(root.source);
    if (root.origin === "store") {
      this.store ??= this.storeOption instanceof KitStore ? Promise.resolve(this.storeOption) : KitStore.open(this.storeOption, { create: false });
      return (await this.store).layout;
    }
    if (root.origin !== "registry") throw new InvalidContentError(`invalid mirror plan: root ${root.source} has origin ${JSON.stringify(root.origin)}`);
    let registry = this.registries.get(ref.registry);
    if (registry === undefined) this.registries.set(ref.registry, (registry = new RemoteRegistry(ref.registry, this.remote)));
    return registry.repository(ref.repository);
  }
}
