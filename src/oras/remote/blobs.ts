/**
 * Blobs on a registry: HEAD, streamed GET (verified while streaming unless the
 * caller opts out), DELETE and cross-repository mount.
 */
import type { Readable } from "node:stream";
import type { Descriptor } from "../descriptor.js";
import { NetworkError, OciError, SizeMismatchError } from "../errors.js";
import type { FetchOptions } from "../target.js";
import { checkDescriptorSize, verifyingStream } from "../verify.js";
import { deleteScope, pullScope, pushScope } from "./auth/scope.js";
import { discard, header, type HttpResponse } from "./http.js";
import type { RepoContext } from "./registry-client.js";
import { errorFromResponse } from "./response-errors.js";
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

function bodyError(err: Error, registry: string, what: string): Error {
  if (err instanceof OciError || err.name === "AbortError") return err;
  return new NetworkError(`connection to ${registry} broke while reading ${what}: ${err.message}`, { cause: err });
}

function declaredLength(res: HttpResponse): number | undefined {
  const text = header(res.headers, "content-length");
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * GET a blob as a stream. Redirects (commonly to object storage) are followed
 * without our credentials. With verification on, the stream errors with
 * DigestMismatchError/SizeMismatchError at the end (or as soon as it runs long).
 */
export async function fetchBlob(ctx: RepoContext, desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
  const what = `blob ${desc.digest} from ${ctx.client.registry}/${ctx.repository}`;
  checkDescriptorSize(desc, what);
  const res = await ctx.client.send({
    method: "GET",
    url: blobUrl(ctx, desc.digest),
    headers: {},
    scopes: [pullScope(ctx.repository)],
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.status !== 200) throw await errorFromResponse(res, blobContext(ctx, desc, "fetch"));
  const length = declaredLength(res);
  if (length !== undefined && length !== desc.size) {
    res.body.destroy();
    throw new SizeMismatchError(desc.size, length, what, { hint: "the registry announced a different length for this blob" });
  }
  if (opts.verify === false) return res.body;
  const verifier = verifyingStream(desc, what);
  const body = res.body;
  // By hand rather than pipeline(): a broken connection mid-body becomes a NetworkError naming the registry.
  body.on("error", (err) => verifier.destroy(bodyError(err, ctx.client.registry, what)));
  verifier.on("close", () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(verifier);
  return verifier;
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
