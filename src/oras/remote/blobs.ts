/**
 * Blobs on a registry: HEAD, streamed GET (resumed after a break, verified
 * while streaming unless the caller opts out), DELETE and cross-repository mount.
 */
import { Readable } from "node:stream";
import type { Descriptor } from "../descriptor.js";
import { NetworkError, SizeMismatchError } from "../errors.js";
import { isTransientError } from "../transient.js";
import type { FetchOptions } from "../target.js";
import { checkDescriptorSize, verifyingStream } from "../verify.js";
import { deleteScope, pullScope, pushScope } from "./auth/scope.js";
import { abandonBody, bodyFailure, connectionReason, discard, header, type HttpResponse } from "./http.js";
import type { RepoContext } from "./registry-client.js";
import { errorFromResponse } from "./response-errors.js";
import { DEFAULT_RETRY_POLICY } from "./retry.js";
import type { Operation } from "./timeouts.js";
import { blobContext, cancelUpload, resolveLocation } from "./upload.js";

function blobUrl(ctx: RepoContext, digest: string): URL {
  return ctx.client.url(`/v2/${ctx.repository}/blobs/${digest}`);
}

export async function blobExists(ctx: RepoContext, desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
  const res = await ctx.client.send({
    method: "HEAD",
    url: blobUrl(ctx, desc.digest),
    headers: {},
    scopes: [pullScope(ctx.repository)],
    ...(signal ? { signal } : {}),
  });
  if (res.status === 404) {
    await discard(res);
    return false;
  }
  if (res.status !== 200) throw await errorFromResponse(res, blobContext(ctx, desc, "check"));
  await discard(res);
  return true;
}

function declaredLength(res: HttpResponse): number | undefined {
  const text = header(res.headers, "content-length");
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The first byte a 206's `Content-Range: bytes FIRST-LAST/TOTAL` covers, when it runs to the end of a blob of `size` bytes. */
export function rangeStart(res: HttpResponse, size: number): number | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res.headers, "content-range")?.trim() ?? "");
  if (m === null) return undefined;
  const [first, last, total] = [Number(m[1]), Number(m[2]), m[3]];
  if (last !== size - 1 || (total !== "*" && Number(total) !== size)) return undefined;
  return first;
}

/** GET a blob (from byte `from` on, with a Range request); the answer is checked by the caller. */
function getBlob(ctx: RepoContext, desc: Descriptor, signal: AbortSignal | undefined, from = 0): Promise<HttpResponse> {
  return ctx.client.send({
    method: "GET",
    url: blobUrl(ctx, desc.digest),
    headers: from > 0 ? { range: `bytes=${from}-` } : {},
    scopes: [pullScope(ctx.repository)],
    ...(signal ? { signal } : {}),
  });
}

/** A 200 for the whole blob, or the error the answer means. */
async function expectWholeBlob(ctx: RepoContext, desc: Descriptor, res: HttpResponse, what: string): Promise<HttpResponse> {
  if (res.status !== 200) throw await errorFromResponse(res, blobContext(ctx, desc, "fetch"));
  const length = declaredLength(res);
  if (length !== undefined && length !== desc.size) {
    abandonBody(res);
    throw new SizeMismatchError(desc.size, length, what, { hint: "the registry announced a different length for this blob" });
  }
  return res;
}

/**
 * GET a blob as one stream, however many connections it takes. Redirects
 * (commonly to object storage) are followed without our credentials. A body
 * that breaks after N bytes is continued with `Range: bytes=N-`; when the
 * registry's answer to that cannot be used (not a 206 starting at N), the
 * blob is fetched again from the start, once, and its first N bytes skipped.
 * With verification on, the stream errors with DigestMismatchError or
 * SizeMismatchError at the end (or as soon as it runs long): the hash runs
 * over the bytes handed on, so a resumed blob is verified whole.
 */
export async function fetchBlob(ctx: RepoContext, desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
  const what = `blob ${desc.digest} from ${ctx.client.registry}/${ctx.repository}`;
  checkDescriptorSize(desc, what);
  const op = ctx.client.startOperation(`fetch ${what}`, opts.signal);
  let first: HttpResponse;
  try {
    first = await expectWholeBlob(ctx, desc, await getBlob(ctx, desc, op.signal), what);
  } catch (err) {
    op.end();
    throw err;
  }
  const body = new ResumingBody(ctx, desc, first, op, what);
  if (opts.verify === false) return body;
  const verifier = verifyingStream(desc, what);
  // By hand rather than pipeline(): the verifier's own errors stay its own, and it stops the body when destroyed.
  body.on("error", (err) => verifier.destroy(err));
  verifier.on("close", () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(verifier);
  return verifier;
}

/**
 * One blob's bytes across however many responses it takes. A Readable fed
 * by hand from the current response (as pipe() would: a call per chunk, the
 * response paused while we are full), rather than an async generator, which
 * costs a promise per chunk on the hottest path of a copy.
 */
class ResumingBody extends Readable {
  private res: HttpResponse;
  /** Bytes handed on. */
  private received = 0;
  /** Bytes at the start of the current response that were handed on already (after a fetch from the start). */
  private skip = 0;
  private breaks = 0;
  private restarted = false;
  private readonly breaksAllowed: number;

  constructor(
    private readonly ctx: RepoContext,
    private readonly desc: Descriptor,
    first: HttpResponse,
    private readonly op: Operation,
    private readonly what: string,
  ) {
    super();
    this.breaksAllowed = Math.max(0, (ctx.client.options.retry?.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts) - 1);
    this.res = first;
    this.follow(first);
  }

  private follow(res: HttpResponse): void {
    const body = res.body;
    body.on("data", (piece: Buffer) => {
      let buf = piece;
      if (this.skip > 0) {
        const dropped = Math.min(this.skip, buf.length);
        this.skip -= dropped;
        buf = buf.subarray(dropped);
        if (buf.length === 0) return;
      }
      this.received += buf.length;
      if (!this.push(buf)) body.pause();
    });
    body.once("end", () => this.push(null)); // a short or long body is the verifier's to refuse
    body.once("error", (err: Error) => {
      if (this.res === res && !this.destroyed) void this.continueAfter(res, err);
    });
  }

  override _read(): void {
    this.res.body.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Do not wait for a stalled connection to say something.
    abandonBody(this.res);
    this.op.end();
    callback(err);
  }

  /** Continue after res broke with err: a 206 from where it broke off, else (once) the whole blob again. */
  private async continueAfter(res: HttpResponse, err: Error): Promise<void> {
    const failure = bodyFailure(res, err, this.what, this.received) as Error;
    if (this.op.signal?.aborted || !isTransientError(failure) || this.breaks >= this.breaksAllowed) {
      this.destroy(failure);
      return;
    }
    this.breaks++;
    const received = this.received;
    try {
      const next = await reopenBlob(this.ctx, this.desc, this.op.signal, this.what, received, this.restarted, failure);
      if (this.destroyed) {
        abandonBody(next.res);
        return;
      }
      const reason = `broke after ${received} bytes (${connectionReason(err)})`;
      const event = { what: `blob ${this.desc.digest}`, attempt: this.breaks + 1, delayMs: 0, offset: received };
      if (next.via === "range") {
        this.ctx.client.reportRetry({ ...event, kind: "resume", reason });
      } else {
        this.ctx.client.reportRetry({ ...event, kind: "restart", reason: `${reason}; the registry's answer to Range bytes=${received}- cannot be used` });
        this.restarted = true;
        this.skip = received;
      }
      this.res = next.res;
      this.follow(next.res);
    } catch (reopenError) {
      this.destroy(reopenError as Error);
    }
  }
}

interface Reopened {
  res: HttpResponse;
  /** "range": res continues where the last one broke off; "start": res is the whole blob again. */
  via: "range" | "start";
}

/**
 * Where to read on from after `received` bytes: a 206 from exactly there,
 * else (unless `restarted` says it was done already) the whole blob again.
 */
async function reopenBlob(
  ctx: RepoContext,
  desc: Descriptor,
  signal: AbortSignal | undefined,
  what: string,
  received: number,
  restarted: boolean,
  failure: unknown,
): Promise<Reopened> {
  const ranged = await getBlob(ctx, desc, signal, received);
  // Nothing received yet: a plain GET again, which is no restart.
  if (received === 0) return { res: await expectWholeBlob(ctx, desc, ranged, what), via: "range" };
  if (ranged.status === 206 && rangeStart(ranged, desc.size) === received) return { res: ranged, via: "range" };
  const unusable = ranged.status === 206 || ranged.status === 416;
  if (ranged.status !== 200 && !unusable) throw await errorFromResponse(ranged, blobContext(ctx, desc, "fetch"));
  if (restarted) {
    await discard(ranged);
    throw new NetworkError(`${what} broke after ${received} bytes, and ${ctx.client.registry} cannot resume it (it answered a Range request with ${ranged.status} again)`, {
      cause: failure,
    });
  }
  if (unusable) await discard(ranged);
  const whole = await expectWholeBlob(ctx, desc, unusable ? await getBlob(ctx, desc, signal) : ranged, what);
  return { res: whole, via: "start" };
}

export async function deleteBlob(ctx: RepoContext, desc: Descriptor, signal?: AbortSignal): Promise<void> {
  const res = await ctx.client.send({
    method: "DELETE",
    url: blobUrl(ctx, desc.digest),
    headers: {},
    scopes: [deleteScope(ctx.repository)],
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 202 && res.status !== 200 && res.status !== 204) {
    throw await errorFromResponse(res, blobContext(ctx, desc, "delete"));
  }
  await discard(res);
}

/**
 * Cross-repository mount: 201 means the blob is now in this repository; 202
 * means the registry declined and opened an upload session instead, which we
 * cancel and report as false so that the caller uploads.
 */
export async function mountBlob(ctx: RepoContext, desc: Descriptor, fromRepository: string, signal?: AbortSignal): Promise<boolean> {
  const url = ctx.client.url(`/v2/${ctx.repository}/blobs/uploads/`);
  url.searchParams.set("mount", desc.digest);
  url.searchParams.set("from", fromRepository);
  const res = await ctx.client.send({
    method: "POST",
    url,
    headers: { "content-length": "0" },
    scopes: [pushScope(ctx.repository), pullScope(fromRepository)],
    ...(signal ? { signal } : {}),
  });
  const ectx = blobContext(ctx, desc, "mount");
  if (res.status === 201) {
    await discard(res);
    return true;
  }
  if (res.status === 202) {
    await discard(res);
    if (header(res.headers, "location") !== undefined) await cancelUpload(ctx, resolveLocation(res, ectx));
    return false;
  }
  throw await errorFromResponse(res, ectx);
}
