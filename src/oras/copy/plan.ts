/**
 * Planning a copy: walk the graph under a root and decide, per unique digest,
 * whether the destination already has it, can mount it, or needs an upload.
 * The result is plain JSON-safe data (printable for --dry-run, testable
 * without a network) ordered children-first, so executing it in order never
 * pushes a manifest before what it references.
 *
 * Unlike oras-go, a manifest found at the destination is NOT taken as proof
 * that its children are there: the walk always descends and checks every
 * blob, so copying into a partially populated mirror heals its holes.
 *
 * The graph is bounded: at most maxNodes unique nodes, at most
 * MAX_INDEX_DEPTH manifests on any path from the root, and no cycles (which
 * content addressing rules out unless digests are forged).
 */
import type { Descriptor } from "../descriptor.js";
import { DEFAULT_MAX_NODES, MAX_INDEX_DEPTH, MAX_MANIFEST_BYTES } from "../limits.js";
import { parseDigest } from "../digest.js";
import { InvalidContentError, SizeLimitError } from "../errors.js";
import type { Mounter, ReadOnlyStorage } from "../target.js";
import { checkDescriptorSize, fetchAll, verifyBytes } from "../verify.js";
import { Semaphore, TaskGroup } from "./limiter.js";
import { atSide, onSide } from "./side.js";
import { isNonDistributable, kindOf, manifestSuccessors, type NodeKind, type Successor, type SuccessorRole } from "./successors.js";

export type NodeAction = "skip" | "mount" | "upload";

/** Why a node is skipped: the destination has it, or it is a foreign layer left at its URLs. */
export type SkipReason = "exists" | "foreign";

export interface PlanNode {
  descriptor: Descriptor;
  kind: NodeKind;
  action: NodeAction;
  /** Present exactly when action is "skip". */
  reason?: SkipReason;
  /** The repository a "mount" node is mounted from, when PlanOptions.mountFrom named one per blob. */
  mountFrom?: string;
  /** Digests of the node's children, each of which appears earlier in CopyPlan.nodes. */
  children: string[];
}

export interface CopyPlan {
  root: Descriptor;
  /** The source repository that "mount" nodes are mounted from (unless a node names its own). */
  mountFrom?: string;
  /** One node per unique digest, children before parents; the root is last. */
  nodes: PlanNode[];
  /** Sum of the sizes of every node in the graph. */
  totalBytes: number;
  /** Sum of the sizes of the "upload" nodes (a mount moves no bytes through us). */
  bytesToTransfer: number;
}

export interface PlanOptions {
  signal?: AbortSignal;
  /** How many existence checks / manifest fetches run at once. Default 4. */
  concurrency?: number;
  /**
   * Repository (on the destination's registry) that holds the same blobs, for
   * cross-repository mounts. Only used when the destination is a Mounter; the
   * caller decides that source and destination share a registry. A function
   * names a repository per missing blob (undefined: upload it), recorded on
   * the node: for copies of many roots into one registry, where a blob one
   * repository already holds is mounted into the next.
   */
  mountFrom?: string | ((desc: Descriptor) => string | undefined);
  /** Which missing blobs to mount rather than upload. Default: all of them. */
  canMount?: (desc: Descriptor) => boolean;
  /**
   * Copy non-distributable ("foreign") layers too. Default false: they are
   * planned as skip/"foreign", as oras-go does, because registries normally do
   * not hold them. A normal layer that merely lists `urls` is copied when the
   * source has it and skipped as foreign when it does not.
   */
  copyForeignLayers?: boolean;
  /** Refuse graphs with more unique nodes than this. Default DEFAULT_MAX_NODES (50,000). */
  maxNodes?: number;
  /**
   * Manifest bytes kept in memory for execution (so they are not fetched
   * twice); past this budget execution re-fetches them. Default 64 MiB.
   */
  manifestCacheBytes?: number;
  /**
   * Manifest bytes the caller already holds (another plan of the same graph:
   * `(d) => cachedManifest(earlier, d)`): used instead of fetching them from
   * the source again, after checking them against their descriptor.
   */
  knownManifest?: (digest: string) => Uint8Array | undefined;
}

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_MANIFEST_CACHE_BYTES = 64 * 1024 * 1024;

/** Verified manifest bytes fetched while planning, kept off the plan so it stays plain JSON. */
const manifestCache = new WeakMap<CopyPlan, Map<string, Uint8Array>>();

/** Manifest bytes planCopy fetched (already digest-verified) for this plan object, if it kept them. */
export function cachedManifest(plan: CopyPlan, digest: string): Uint8Array | undefined {
  return manifestCache.get(plan)?.get(digest);
}

interface FoundNode {
  descriptor: Descriptor;
  kind: NodeKind;
  role: SuccessorRole | "root";
  /** Manifests on the path that found it, itself included (1 for the root). */
  depth: number;
  action?: NodeAction;
  reason?: SkipReason;
  mountFrom?: string;
  children: string[];
}

export async function planCopy(
  src: ReadOnlyStorage,
  dst: ReadOnlyStorage & Partial<Mounter>,
  root: Descriptor,
  opts: PlanOptions = {},
): Promise<CopyPlan> {
  parseDigest(root.digest);
  checkDescriptorSize(root, `root ${root.digest}`);
  const maxNodes = opts.maxNodes ?? DEFAULT_MAX_NODES;
  const cacheLimit = opts.manifestCacheBytes ?? DEFAULT_MANIFEST_CACHE_BYTES;
  const mounter = typeof dst.mount === "function";
  const mountFrom = mounter && typeof opts.mountFrom === "string" ? opts.mountFrom : undefined;
  const perBlob = mounter && typeof opts.mountFrom === "function" ? opts.mountFrom : undefined;
  const canMount = opts.canMount ?? (() => true);
  /** Where a missing blob can be mounted from; undefined when it must be uploaded. */
  const mountSource = (desc: Descriptor): string | undefined => {
    if ((mountFrom === undefined && perBlob === undefined) || !canMount(desc)) return undefined;
    return mountFrom ?? perBlob!(desc);
  };

  const found = new Map<string, FoundNode>();
  const cache = new Map<string, Uint8Array>();
  let cachedBytes = 0;
  const slots = new Semaphore(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const group = new TaskGroup(opts.signal);

  const discover = (desc: Descriptor, kind: NodeKind, role: FoundNode["role"], parent: string, depth: number): void => {
    const seen = found.get(desc.digest);
    if (seen) {
      // The same digest must describe the same bytes wherever it appears.
      if (seen.descriptor.size !== desc.size) {
        throw new InvalidContentError(
          `${parent} gives ${desc.digest} a size of ${desc.size} bytes, but elsewhere in the graph it is ${seen.descriptor.size}`,
        );
      }
      return;
    }
    // The path that found it is a real path, so this refuses early and never wrongly; orderChildrenFirst checks every path.
    if (kind === "manifest" && depth > MAX_INDEX_DEPTH) throw depthError(root.digest);
    if (found.size >= maxNodes) {
      throw new SizeLimitError(maxNodes, `the graph under ${root.digest}`, { unit: "nodes", hint: "raise maxNodes if this graph is genuine" });
    }
    const node: FoundNode = { descriptor: desc, kind, role, depth, children: [] };
    found.set(desc.digest, node);
    group.spawn((signal) => inspect(node, signal));
  };

  const inspect = async (node: FoundNode, signal: AbortSignal): Promise<void> => {
    const desc = node.descriptor;
    const release = await slots.acquire(signal);
    let bytes: Uint8Array | undefined;
    try {
      if (node.role === "layer" && !opts.copyForeignLayers && (await atSide("source", src, () => isForeign(src, desc)))) {
        node.action = "skip";
        node.reason = "foreign";
        return;
      }
      if (node.kind === "blob") {
        const present = await atSide("destination", dst, () => dst.exists(desc));
        const from = present ? undefined : mountSource(desc);
        node.action = present ? "skip" : from !== undefined ? "mount" : "upload";
        if (present) node.reason = "exists";
        if (from !== undefined && perBlob !== undefined) node.mountFrom = from;
        return;
      }
      // A manifest is fetched even when the destination has it: its children still have to be checked.
      const known = opts.knownManifest?.(desc.digest);
      if (known !== undefined) verifyBytes(desc, known, `manifest ${desc.digest}`);
      const [present, content] = await Promise.all([
        atSide("destination", dst, () => dst.exists(desc)),
        known ?? atSide("source", src, () => fetchAll(src, desc, { limit: MAX_MANIFEST_BYTES, what: `manifest ${desc.digest}`, signal })),
      ]);
      bytes = content;
      node.action = present ? "skip" : "upload";
      if (present) node.reason = "exists";
    } finally {
      release();
    }
    if (bytes === undefined) return;
    let successors: Successor[];
    try {
      successors = manifestSuccessors(desc, bytes);
    } catch (err) {
      throw onSide(err, "source", src);
    }
    if (node.action === "upload" && cachedBytes + bytes.length <= cacheLimit) {
      cache.set(desc.digest, bytes);
      cachedBytes += bytes.length;
    }
    node.children = [...new Set(successors.map((s) => s.descriptor.digest))];
    for (const s of successors) discover(s.descriptor, s.kind, s.role, `manifest ${desc.digest}`, node.depth + 1);
  };

  discover(root, kindOf(root), "root", "the root", 1);
  await group.wait();

  const nodes = orderChildrenFirst(root.digest, found);
  const plan: CopyPlan = {
    root,
    ...(mountFrom !== undefined ? { mountFrom } : {}),
    nodes,
    totalBytes: nodes.reduce((sum, n) => sum + n.descriptor.size, 0),
    bytesToTransfer: nodes.reduce((sum, n) => sum + (n.action === "upload" ? n.descriptor.size : 0), 0),
  };
  manifestCache.set(plan, cache);
  return plan;
}

/** Non-distributable layers always; a layer with `urls` only when the source does not hold it. */
async function isForeign(src: ReadOnlyStorage, desc: Descriptor): Promise<boolean> {
  if (isNonDistributable(desc)) return true;
  if (desc.urls !== undefined && desc.urls.length > 0) return !(await src.exists(desc));
  return false;
}

function depthError(rootDigest: string): SizeLimitError {
  return new SizeLimitError(MAX_INDEX_DEPTH, `the nesting of manifests under ${rootDigest}`, { unit: "levels" });
}

/** What orderChildrenFirst needs of a node: plan fields, the action possibly still unset. */
export type GraphNode = Omit<PlanNode, "action"> & { action?: NodeAction };

/**
 * Children-first order from the root, children in document order; iterative
 * so deep graphs cannot overflow the stack. Refuses a cycle
 * (InvalidContentError) and a path with more than MAX_INDEX_DEPTH manifests
 * (SizeLimitError).
 */
export function orderChildrenFirst(rootDigest: string, found: ReadonlyMap<string, GraphNode>): PlanNode[] {
  const out: PlanNode[] = [];
  /** Manifests on the longest path down from each closed node, itself included. */
  const height = new Map<string, number>();
  const state = new Map<string, "open" | "closed">([[rootDigest, "open"]]);
  const stack: Array<{ node: GraphNode; next: number }> = [{ node: found.get(rootDigest)!, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const child = top.node.children[top.next];
    if (child !== undefined) {
      top.next++;
      const st = state.get(child);
      if (st === undefined) {
        state.set(child, "open");
        stack.push({ node: found.get(child)!, next: 0 });
      } else if (st === "open") {
        // Content addressing makes a real cycle impossible; one here means forged digests.
        throw new InvalidContentError(`the graph under ${rootDigest} has a cycle through ${child}`);
      }
      continue;
    }
    stack.pop();
    state.set(top.node.descriptor.digest, "closed");
    const { descriptor, kind, action, reason, mountFrom, children } = top.node;
    const own = kind === "manifest" ? 1 + Math.max(0, ...children.map((c) => height.get(c) ?? 0)) : 0;
    if (own > MAX_INDEX_DEPTH) throw depthError(rootDigest);
    height.set(descriptor.digest, own);
    out.push({ descriptor, kind, action: action!, ...(reason !== undefined ? { reason } : {}), ...(mountFrom !== undefined ? { mountFrom } : {}), children });
  }
  return out;
}
