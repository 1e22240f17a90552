/**
 * Executing a copy plan: every node runs once all its children have finished,
 * at most `concurrency` transfers at a time. Blobs stream from the source
 * straight into the destination; manifests are pushed from the verified bytes
 * the plan kept. The first failure aborts everything still running and is
 * the error thrown, after the rest have stopped, saying which side failed.
 */
import { Transform, type Readable, type TransformCallback } from "node:stream";
import type { Descriptor } from "../descriptor.js";
import { MAX_MANIFEST_BYTES } from "../limits.js";
import { InvalidContentError, UnsupportedError } from "../errors.js";
import { isTransientError } from "../transient.js";
import type { Mounter, ReadOnlyStorage, ReferencePusher, Storage, Tagger } from "../target.js";
import { fetchAll } from "../verify.js";
import { Semaphore, TaskGroup } from "./limiter.js";
import { cachedManifest, DEFAULT_CONCURRENCY, type CopyPlan, type PlanNode, type SkipReason } from "./plan.js";
import { atSide, onSide } from "./side.js";

/** What copy needs of a destination; tagging, mounting and push-by-reference are used when present. */
export type CopyDestination = Storage & Partial<Tagger> & Partial<Mounter> & Partial<ReferencePusher>;

export type CopyProgressEvent =
  | { type: "skip"; node: PlanNode; reason: SkipReason }
  | { type: "start"; node: PlanNode }
  /** Cumulative bytes of this node pushed so far (blob uploads only). */
  | { type: "bytes"; node: PlanNode; transferred: number }
  /** `via` is "upload" also for a planned mount that the registry declined. */
  | { type: "done"; node: PlanNode; via: "upload" | "mount" }
  /** A blob upload that failed transiently is sent again from its first byte (attempt 2, 3, …). */
  | { type: "retry"; node: PlanNode; attempt: number; error: unknown }
  | { type: "tag"; descriptor: Descriptor; tag: string };

/**
 * What a caller that shows progress listens to: the plan once, before any
 * transfer (so totals are known up front), then an event per step.
 */
export interface CopyProgressOptions {
  onPlan?: (plan: CopyPlan) => void;
  onProgress?: (event: CopyProgressEvent) => void;
}

export interface ExecuteOptions extends CopyProgressOptions {
  /** Transfers running at once. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * Hash blobs from the source while streaming. Default true. Pass false only
   * when the destination verifies every byte itself (a registry's
   * `PUT ?digest=`): it saves a full client-side hash of everything copied.
   */
  verifySource?: boolean;
  /** Point this tag at the root once everything is stored. */
  tag?: string;
}

export interface CopyStats {
  uploaded: number;
  mounted: number;
  skipped: number;
  /** Bytes pushed through this process (mounted blobs excluded). */
  bytesTransferred: number;
  /**
   * Things done again after a transient failure. executeCopy counts the blob
   * uploads it restarted; copyReference adds the requests its registry
   * clients retried and the downloads they restarted.
   */
  retries: number;
  /** Blob downloads continued with a Range request (counted by copyReference, 0 here). */
  resumes: number;
}

/** How often one blob upload that failed transiently (a reset, a 503) is begun again: fresh from the source. */
export const BLOB_UPLOAD_ATTEMPTS = 3;

export async function executeCopy(
  src: ReadOnlyStorage,
  dst: CopyDestination,
  plan: CopyPlan,
  opts: ExecuteOptions = {},
): Promise<CopyStats> {
  checkPlanOrder(plan);
  const tag = opts.tag;
  if (tag !== undefined && typeof dst.tag !== "function" && typeof dst.pushReference !== "function") {
    throw new UnsupportedError(`cannot tag ${plan.root.digest} as "${tag}": the destination does not support tags`);
  }
  opts.onPlan?.(plan);
  const verifySource = opts.verifySource ?? true;
  const emit = opts.onProgress ?? (() => {});
  const slots = new Semaphore(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const group = new TaskGroup(opts.signal);
  const stats: CopyStats = { uploaded: 0, mounted: 0, skipped: 0, bytesTransferred: 0, retries: 0, resumes: 0 };
  const rootDigest = plan.root.digest;
  // The root goes up with its tag in one request when the destination can do that.
  const tagOnPush = tag !== undefined && typeof dst.pushReference === "function";
  let rootTagged = false;

  const manifestBytes = (desc: Descriptor, signal: AbortSignal): Promise<Uint8Array> => {
    const kept = cachedManifest(plan, desc.digest);
    if (kept) return Promise.resolve(kept);
    return atSide("source", src, () => fetchAll(src, desc, { limit: MAX_MANIFEST_BYTES, what: `manifest ${desc.digest}`, signal }));
  };
  const toDestination = <T>(op: () => Promise<T>): Promise<T> => atSide("destination", dst, op);

  /**
   * A stream, once read, cannot be sent again; so a blob upload that broke
   * transiently on the destination's side is begun again with a fresh fetch
   * from the source, a bounded number of times.
   */
  const pushBlob = async (node: PlanNode, signal: AbortSignal): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await pushBlobOnce(node, signal);
        return;
      } catch (err) {
        if (attempt >= BLOB_UPLOAD_ATTEMPTS || signal.aborted || !(err instanceof FromDestination) || !isTransientError(err.error)) {
          throw err instanceof FromDestination ? err.error : err;
        }
        stats.retries++;
        emit({ type: "retry", node, attempt: attempt + 1, error: err.error });
      }
    }
  };

  const pushBlobOnce = async (node: PlanNode, signal: AbortSignal): Promise<void> => {
    const desc = node.descriptor;
    const source = await atSide("source", src, () => src.fetch(desc, { verify: verifySource, signal }));
    const feed = new SourceFeed(source, opts.onProgress ? (n) => emit({ type: "bytes", node, transferred: n }) : undefined);
    try {
      await dst.push(desc, feed, { signal });
    } catch (err) {
      const fromSource = feed.failedWith(err);
      // The destination may have given up without draining the source; free its connection.
      source.destroy();
      feed.destroy();
      if (fromSource) throw onSide(err, "source", src);
      throw new FromDestination(onSide(err, "destination", dst));
    }
  };

  const run = async (node: PlanNode, signal: AbortSignal): Promise<void> => {
    const desc = node.descriptor;
    const release = await slots.acquire(signal);
    try {
      emit({ type: "start", node });
      const mountFrom = node.mountFrom ?? plan.mountFrom;
      if (node.action === "mount" && mountFrom !== undefined && typeof dst.mount === "function") {
        if (await toDestination(() => dst.mount!(desc, mountFrom, { signal }))) {
          stats.mounted++;
          emit({ type: "done", node, via: "mount" });
          return;
        }
      }
      if (node.kind === "manifest") {
        const bytes = await manifestBytes(desc, signal);
        if (tagOnPush && desc.digest === rootDigest) {
          await toDestination(() => dst.pushReference!(desc, bytes, tag!, { signal }));
          rootTagged = true;
        } else {
          await toDestination(() => dst.push(desc, bytes, { signal }));
        }
      } else {
        await pushBlob(node, signal);
      }
      stats.uploaded++;
      stats.bytesTransferred += desc.size;
      emit({ type: "done", node, via: "upload" });
    } finally {
      release();
    }
  };

  const finished = new Map<string, Promise<void>>();
  for (const node of plan.nodes) {
    const deps = node.children.map((d) => finished.get(d)!);
    const task = group.spawn(async (signal) => {
      await Promise.all(deps);
      signal.throwIfAborted();
      if (node.action === "skip") {
        stats.skipped++;
        emit({ type: "skip", node, reason: node.reason ?? "exists" });
        return;
      }
      await run(node, signal);
    });
    finished.set(node.descriptor.digest, task);
  }
  await group.wait();

  if (tag !== undefined && !rootTagged) {
    if (typeof dst.tag === "function") {
      await toDestination(() => dst.tag!(plan.root, tag, opts.signal ? { signal: opts.signal } : undefined));
    } else {
      // Only push-by-reference is available, and the root was already there: push it again under the tag.
      const signal = opts.signal ?? new AbortController().signal;
      const bytes = await manifestBytes(plan.root, signal);
      await toDestination(() => dst.pushReference!(plan.root, bytes, tag, { signal }));
    }
  }
  if (tag !== undefined) emit({ type: "tag", descriptor: plan.root, tag });
  return stats;
}

/** A failure of the destination's, wrapped so that pushBlob can tell it from the source's. */
class FromDestination {
  constructor(readonly error: unknown) {}
}

/**
 * A plan may come back from JSON, so check the one property execution relies
 * on: every child is a node listed earlier, every digest once, the root present.
 */
function checkPlanOrder(plan: CopyPlan): void {
  const bad = (what: string): InvalidContentError => new InvalidContentError(`invalid copy plan for ${plan.root?.digest}: ${what}`);
  if (!Array.isArray(plan.nodes)) throw bad("nodes is not an array");
  const seen = new Set<string>();
  for (const node of plan.nodes) {
    const digest = node.descriptor.digest;
    if (seen.has(digest)) throw bad(`${digest} is listed twice`);
    for (const child of node.children) {
      if (!seen.has(child)) throw bad(`${digest} comes before its child ${child}`);
    }
    if (!["skip", "mount", "upload"].includes(node.action)) throw bad(`${digest} has unknown action ${JSON.stringify(node.action)}`);
    seen.add(digest);
  }
  if (!seen.has(plan.root.digest)) throw bad("the root is not among its nodes");
}

/**
 * What the destination reads of a blob: the source's bytes, pulled only once
 * the destination reads (so nothing flows, or fails unheard, before it
 * listens), counted when asked. The source's error is forwarded and
 * remembered, so that a failed push can be blamed on the right side; a
 * destination that gives up does not push its error back into the source,
 * as pipeline() would.
 */
class SourceFeed extends Transform {
  private started = false;
  private total = 0;
  private sourceError: Error | undefined;

  constructor(
    private readonly source: Readable,
    private readonly report?: (total: number) => void,
  ) {
    super();
    source.once("error", (err: Error) => {
      this.sourceError = err;
      if (this.started) this.destroy(err);
    });
  }

  /** Whether err is, or was caused by, the source's failure. */
  failedWith(err: unknown): boolean {
    for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
      if (e === this.sourceError) return true;
    }
    return false;
  }

  override _read(size: number): void {
    if (!this.started) {
      this.started = true;
      if (this.sourceError !== undefined) {
        this.destroy(this.sourceError);
        return;
      }
      this.source.pipe(this);
    }
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    this.report?.(this.total);
    callback(null, chunk);
  }
}
