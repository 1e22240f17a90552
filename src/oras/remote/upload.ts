/**
 * Blob uploads (distribution-spec "push"): open a session with POST, send the
 * bytes, close it with `PUT ?digest=`, which makes the registry hash what it
 * received and refuse a mismatch — so a registry-to-registry copy is verified
 * without hashing on our side.
 *
 * Strategies:
 * - small blobs (≤ monolithicMaxBytes): one PUT from memory, retryable;
 * - large blobs, "chunked" (default): PATCH chunks of chunkBytes, each retryable
 *   (continued from where the session's status says it broke off);
 *   the last chunk rides on the closing PUT;
 * - large blobs, "stream": one PUT streaming the source; fewest round trips
 *   and no buffering, but a failure cannot be retried.
 * Memory stays bounded by one chunk per upload.
 */
import { Transform, type Readable, type TransformCallback } from "node:stream";
import type { Descriptor } from "../descriptor.js";
import { DigestMismatchError, errorCode, IoError, NetworkError, OciError, RegistryError, SizeMismatchError } from "../errors.js";
import { isTransientError } from "../transient.js";
import { checkDescriptorSize } from "../verify.js";
import { pushScope } from "./auth/scope.js";
import { discard, header, type HttpRequest, type HttpResponse, type RequestBody } from "./http.js";
import { repoErrorContext, type RepoContext } from "./registry-client.js";
import { describeRegistryErrors, errorFromResponse, hasRegistryCode, registryResponse, requiredHeader, type ErrorContext } from "./response-errors.js";
import type { UploadPolicy } from "./upload-policy.js";

/** The codes with which a registry refuses bytes that do not match the digest (or size) they were pushed under. */
const CONTENT_REFUSED = ["DIGEST_INVALID", "SIZE_INVALID", "BLOB_UPLOAD_INVALID"];

interface UploadSession {
  location: URL;
  /** OCI-Chunk-Min-Length, when the registry sets one. */
  minChunkBytes?: number;
}

export function blobContext(ctx: RepoContext, desc: Descriptor, action = "push"): ErrorContext {
  return repoErrorContext(ctx, `blob ${desc.digest}`, action);
}

/** `Location` resolved against the URL that sent it (registries send relative and absolute ones). */
export function resolveLocation(res: HttpResponse, ctx: ErrorContext): URL {
  return new URL(requiredHeader(res, "location", ctx), res.url);
}

/** Append `digest=` to an upload URL without re-encoding the registry's own (opaque) query. */
function withDigestQuery(location: URL, digest: string): URL {
  const url = new URL(location.href);
  const param = `digest=${encodeURIComponent(digest)}`;
  url.search = url.search === "" || url.search === "?" ? `?${param}` : `${url.search}&${param}`;
  return url;
}

async function startUpload(ctx: RepoContext, desc: Descriptor, signal?: AbortSignal): Promise<UploadSession> {
  const ectx = blobContext(ctx, desc);
  const res = await send(ctx, {
    method: "POST",
    url: ctx.client.url(`/v2/${ctx.repository}/blobs/uploads/`),
    headers: { "content-length": "0" },
  }, signal);
  if (res.status !== 202) throw await errorFromResponse(res, ectx);
  await discard(res);
  const location = resolveLocation(res, ectx);
  const session: UploadSession = { location };
  const min = Number(header(res.headers, "oci-chunk-min-length"));
  if (Number.isSafeInteger(min) && min > 0) session.minChunkBytes = min;
  return session;
}

/** Abandon an upload session; failures are ignored (the registry garbage-collects sessions anyway). */
export async function cancelUpload(ctx: RepoContext, location: URL): Promise<void> {
  try {
    const res = await ctx.client.send({ method: "DELETE", url: location, headers: {}, scopes: [pushScope(ctx.repository)] });
    await discard(res);
  } catch {
    // Best effort.
  }
}

function send(ctx: RepoContext, req: Omit<HttpRequest, "scopes" | "signal">, signal?: AbortSignal): Promise<HttpResponse> {
  return ctx.client.send({ ...req, scopes: [pushScope(ctx.repository)], ...(signal ? { signal } : {}) });
}

/** Close the session with `PUT ?digest=` (optionally carrying the last bytes) and check the registry's answer. */
async function completeUpload(
  ctx: RepoContext,
  desc: Descriptor,
  location: URL,
  body: RequestBody | undefined,
  length: number,
  signal?: AbortSignal,
): Promise<void> {
  const ectx = blobContext(ctx, desc);
  const headers: Record<string, string> = { "content-type": "application/octet-stream", "content-length": String(length) };
  const req: Omit<HttpRequest, "scopes" | "signal"> = { method: "PUT", url: withDigestQuery(location, desc.digest), headers };
  if (body !== undefined) req.body = body;
  const res = await send(ctx, req, signal);
  if (res.status !== 201 && res.status !== 204) {
    const err = await errorFromResponse(res, ectx);
    if (res.status === 400 && err.response !== undefined && hasRegistryCode(err, ...CONTENT_REFUSED)) {
      const said = describeRegistryErrors(err.response.errors);
      throw new DigestMismatchError(desc.digest, `different content (${ctx.client.registry} refused it: ${said})`, `blob pushed to ${ctx.client.registry}/${ctx.repository}`, {
        response: err.response,
      });
    }
    throw err;
  }
  await discard(res);
  const stored = header(res.headers, "docker-content-digest");
  if (stored !== undefined && stored !== desc.digest && stored.split(":")[0] === desc.digest.split(":")[0]) {
    throw new DigestMismatchError(desc.digest, stored, `blob stored by ${ctx.client.registry}/${ctx.repository}`);
  }
}

function tooLong(desc: Descriptor, seen: number, what: string): SizeMismatchError {
  return new SizeMismatchError(desc.size, seen, what, { hint: "the content is longer than its descriptor says; the upload was stopped" });
}

/**
 * Re-chunk a stream into Buffers of exactly `size` bytes (the last may be
 * shorter). Async iteration, not a 'data' listener, so it never races a pipe.
 */
export async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const piece of stream) {
    let buf: Buffer = typeof piece === "string" ? Buffer.from(piece) : (piece as Buffer);
    while (held + buf.length >= size) {
      const take = size - held;
      parts.push(buf.subarray(0, take));
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      parts = [];
      held = 0;
      buf = buf.subarray(take);
    }
    if (buf.length > 0) {
      parts.push(buf);
      held += buf.length;
    }
  }
  if (held > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
}

/** Read a small stream whole, refusing more than desc.size bytes. */
async function readExactly(stream: Readable, desc: Descriptor, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of stream) {
    const buf: Buffer = typeof piece === "string" ? Buffer.from(piece) : (piece as Buffer);
    total += buf.length;
    if (total > desc.size) throw tooLong(desc, total, what);
    parts.push(buf);
  }
  if (total !== desc.size) throw new SizeMismatchError(desc.size, total, what);
  return Buffer.concat(parts, total);
}

/**
 * Our errors pass; anything else came from reading the source (another
 * registry's body, a file) and is named as such rather than blamed on the
 * destination.
 */
function sourceFailure(err: unknown, what: string): unknown {
  if (err instanceof OciError || (err instanceof Error && err.name === "AbortError")) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = errorCode(err) ?? "";
  // Codes of undici's, node-transport.ts's (ERR_KIT_HTTP_) and the socket's own.
  return /^(UND_ERR|ERR_KIT_HTTP_|ECONN|EPIPE|ETIMEDOUT)/.test(code)
    ? new NetworkError(`reading ${what} from its source failed: ${message}`, { cause: err })
    : new IoError(`reading ${what} from its source failed: ${message}`, { cause: err });
}

/** Upload a blob that must hash to desc.digest; the registry verifies it before storing anything. */
export async function uploadBlob(
  ctx: RepoContext,
  desc: Descriptor,
  content: Readable | Uint8Array,
  policy: UploadPolicy,
  signal?: AbortSignal,
): Promise<void> {
  const what = `blob ${desc.digest}`;
  checkDescriptorSize(desc, what);
  try {
    await uploadWithStrategy(ctx, desc, content, policy, what, signal);
  } catch (err) {
    throw sourceFailure(err, what);
  }
}

async function uploadWithStrategy(
  ctx: RepoContext,
  desc: Descriptor,
  content: Readable | Uint8Array,
  policy: UploadPolicy,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  if (content instanceof Uint8Array) {
    if (content.length !== desc.size) throw new SizeMismatchError(desc.size, content.length, what);
    await uploadMonolithic(ctx, desc, Buffer.from(content.buffer, content.byteOffset, content.byteLength), signal);
  } else if (desc.size <= policy.monolithicMaxBytes) {
    await uploadMonolithic(ctx, desc, await readExactly(content, desc, what), signal);
  } else if (policy.largeBlobs === "stream") {
    await uploadStreamed(ctx, desc, content, what, signal);
  } else {
    await uploadChunked(ctx, desc, content, policy.chunkBytes, what, signal);
  }
}

async function uploadMonolithic(ctx: RepoContext, desc: Descriptor, bytes: Buffer, signal?: AbortSignal): Promise<void> {
  const session = await startUpload(ctx, desc, signal);
  try {
    await completeUpload(ctx, desc, session.location, bytes, bytes.length, signal);
  } catch (err) {
    await cancelUpload(ctx, session.location);
    throw err;
  }
}

/** Counts bytes on their way into a request and stops a source that runs past the descriptor. */
class SizeGuard extends Transform {
  seen = 0;
  constructor(
    private readonly desc: Descriptor,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.desc.size) cb(tooLong(this.desc, this.seen, this.what));
    else cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    cb(this.seen === this.desc.size ? null : new SizeMismatchError(this.desc.size, this.seen, this.what));
  }
}

async function uploadStreamed(ctx: RepoContext, desc: Descriptor, content: Readable, what: string, signal?: AbortSignal): Promise<void> {
  const session = await startUpload(ctx, desc, signal);
  const guard = new SizeGuard(desc, what);
  // Errors on the source (e.g. its own digest check) must reach the request body.
  content.on("error", (err) => guard.destroy(sourceFailure(err, what) as Error));
  content.pipe(guard);
  try {
    await completeUpload(ctx, desc, session.location, guard, desc.size, signal);
  } catch (err) {
    content.destroy();
    await cancelUpload(ctx, session.location);
    throw err;
  }
}

async function uploadChunked(
  ctx: RepoContext,
  desc: Descriptor,
  content: Readable,
  chunkBytes: number,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const session = await startUpload(ctx, desc, signal);
  const size = Math.max(chunkBytes, session.minChunkBytes ?? 0);
  const ectx = blobContext(ctx, desc);
  let location = session.location;
  let offset = 0;
  // One chunk is held back so that the last one can travel with the closing PUT.
  let held: Buffer | undefined;
  try {
    for await (const chunk of chunksOf(content, size)) {
      if (offset + (held?.length ?? 0) + chunk.length > desc.size) {
        throw tooLong(desc, offset + (held?.length ?? 0) + chunk.length, what);
      }
      if (held !== undefined) {
        location = await patchChunk(ctx, location, held, offset, ectx, signal);
        offset += held.length;
      }
      held = chunk;
    }
    const total = offset + (held?.length ?? 0);
    if (total !== desc.size) throw new SizeMismatchError(desc.size, total, what);
    await completeUpload(ctx, desc, location, held, held?.length ?? 0, signal);
  } catch (err) {
    content.destroy();
    await cancelUpload(ctx, location);
    throw err;
  }
}

function sendChunk(ctx: RepoContext, location: URL, chunk: Buffer, offset: number, signal?: AbortSignal): Promise<HttpResponse> {
  return send(ctx, {
    method: "PATCH",
    url: location,
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(chunk.length),
      "content-range": `${offset}-${offset + chunk.length - 1}`,
    },
    body: chunk,
  }, signal);
}

/**
 * PATCH one chunk at `offset`. When that fails transiently, or the registry
 * answers 416 (it holds a different amount than we think: part of a broken
 * PATCH landed), the session's status says how much it holds, and the rest
 * of the chunk is sent from there.
 */
async function patchChunk(
  ctx: RepoContext,
  location: URL,
  chunk: Buffer,
  offset: number,
  ectx: ErrorContext,
  signal?: AbortSignal,
): Promise<URL> {
  let res: HttpResponse;
  try {
    res = await sendChunk(ctx, location, chunk, offset, signal);
  } catch (err) {
    if (signal?.aborted || !isTransientError(err)) throw err;
    return continueChunk(ctx, location, chunk, offset, ectx, (err as Error).message, signal);
  }
  if (res.status === 416) {
    await discard(res);
    return continueChunk(ctx, location, chunk, offset, ectx, "answered 416", signal);
  }
  if (res.status !== 202) throw await errorFromResponse(res, ectx);
  await discard(res);
  return resolveLocation(res, ectx);
}

async function continueChunk(
  ctx: RepoContext,
  location: URL,
  chunk: Buffer,
  offset: number,
  ectx: ErrorContext,
  reason: string,
  signal?: AbortSignal,
): Promise<URL> {
  const status = await uploadStatus(ctx, location, ectx, signal);
  const kept = status.offset - offset;
  if (kept < 0 || kept > chunk.length) {
    throw new NetworkError(`upload of ${ectx.what} to ${ctx.client.registry} broke (${reason}), and the session holds ${status.offset} bytes where ${offset} to ${offset + chunk.length} were expected`);
  }
  ctx.client.reportRetry({ kind: "resume", what: ectx.what, reason, attempt: 2, delayMs: 0, offset: status.offset });
  if (kept === chunk.length) return status.location;
  const res = await sendChunk(ctx, status.location, chunk.subarray(kept), status.offset, signal);
  if (res.status !== 202) throw await errorFromResponse(res, ectx);
  await discard(res);
  return resolveLocation(res, ectx);
}

/** How many bytes an upload session holds, from `GET` on it: 204 with `Range: 0-LAST` (`0--1` or none when empty). */
async function uploadStatus(ctx: RepoContext, location: URL, ectx: ErrorContext, signal?: AbortSignal): Promise<{ offset: number; location: URL }> {
  const res = await send(ctx, { method: "GET", url: location, headers: {} }, signal);
  if (res.status !== 204 && res.status !== 200) throw await errorFromResponse(res, { ...ectx, action: "check the upload of" });
  await discard(res);
  const range = header(res.headers, "range")?.trim();
  const m = range === undefined ? null : /^(?:bytes=)?0-(-1|\d+)$/.exec(range);
  if (range !== undefined && m === null) {
    throw new RegistryError(`${ctx.client.registry} reported an upload status Range "${range.slice(0, 40)}" that cannot be read`, res.status, {
      response: registryResponse(res),
    });
  }
  return { offset: m === null ? 0 : Number(m[1]) + 1, location: header(res.headers, "location") !== undefined ? resolveLocation(res, ectx) : location };
}
