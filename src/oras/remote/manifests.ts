/**
 * Manifests on a registry: HEAD/GET/PUT/DELETE `/v2/<name>/manifests/<ref>`.
 * A fetched manifest is read whole but bounded, and its bytes are checked
 * against the digest that named it (by digest) or that the registry claims
 * (`Docker-Content-Digest`, by tag): a lying registry is refused.
 */
import type { Descriptor } from "../descriptor.js";
import { MANIFEST_MEDIA_TYPES, isManifestMediaType } from "../descriptor.js";
import { MAX_MANIFEST_BYTES } from "../limits.js";
import { digestOf, isDigest, parseDigest } from "../digest.js";
import { DigestMismatchError, InvalidContentError, RegistryError, SizeLimitError } from "../errors.js";
import { verifyBytes } from "../verify.js";
import { deleteScope, pullScope, pushScope } from "./auth/scope.js";
import { abandonBody, discard, header, readResponse, type HttpResponse } from "./http.js";
import { repoErrorContext, type RepoContext } from "./registry-client.js";
import { errorFromResponse, registryResponse, type ErrorContext } from "./response-errors.js";

/** Every manifest type we understand, OCI first. */
const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(", ");

export interface ManifestContent {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** "team/app:v1" or "team/app@sha256:…". */
function manifestName(repository: string, reference: string): string {
  return isDigest(reference) || reference.includes(":") ? `${repository}@${reference}` : `${repository}:${reference}`;
}

function manifestContext(ctx: RepoContext, reference: string, action: string): ErrorContext {
  return repoErrorContext(ctx, `manifest ${manifestName(ctx.repository, reference)}`, action);
}

function manifestUrl(ctx: RepoContext, reference: string): URL {
  return ctx.client.url(`/v2/${ctx.repository}/manifests/${reference}`);
}

const GENERIC_TYPES = new Set(["", "application/json", "text/plain", "application/octet-stream", "binary/octet-stream"]);

function contentType(res: HttpResponse): string {
  return (header(res.headers, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The manifest's media type: Content-Type, or the `mediaType` field when the registry sent a generic type. */
function manifestMediaType(res: HttpResponse, bytes: Buffer | undefined, what: string): string | undefined {
  const type = contentType(res);
  if (!GENERIC_TYPES.has(type)) return type;
  if (bytes === undefined) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown };
    if (typeof parsed.mediaType === "string" && parsed.mediaType !== "") return parsed.mediaType;
  } catch {
    throw new InvalidContentError(`${what} is not valid JSON`);
  }
  throw new InvalidContentError(`${what} has no media type (no specific Content-Type and no mediaType field)`);
}

/** Content-Length, when present and sane. */
function contentLength(res: HttpResponse): number | undefined {
  const text = header(res.headers, "content-length");
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A Docker-Content-Digest header, validated; undefined when absent. */
function claimedDigest(res: HttpResponse, ectx: ErrorContext): string | undefined {
  const value = header(res.headers, "docker-content-digest")?.trim();
  if (value === undefined || value === "") return undefined;
  try {
    parseDigest(value);
  } catch {
    throw new RegistryError(`${ectx.registry} sent an invalid Docker-Content-Digest for ${ectx.what}`, res.status, { response: registryResponse(res) });
  }
  return value;
}

/** Check that bytes hash to what names them; returns the digest to record. */
function checkManifestDigest(bytes: Buffer, reference: string, claimed: string | undefined, what: string): string {
  if (isDigest(reference)) {
    const actual = digestOf(bytes, parseDigest(reference).algorithm);
    if (actual !== reference) throw new DigestMismatchError(reference, actual, what);
    return reference;
  }
  if (claimed !== undefined) {
    const actual = digestOf(bytes, parseDigest(claimed).algorithm);
    if (actual !== claimed) {
      throw new DigestMismatchError(claimed, actual, what, { hint: "the registry's Docker-Content-Digest does not match the bytes it sent" });
    }
    return claimed;
  }
  return digestOf(bytes);
}

/** GET a manifest by tag or digest, bounded and verified; fetched again when its body breaks off. */
export function getManifest(ctx: RepoContext, reference: string, signal?: AbortSignal): Promise<ManifestContent> {
  return ctx.client.retryBrokenBody(`GET /v2/${ctx.repository}/manifests/${reference}`, signal, () => getManifestOnce(ctx, reference, signal));
}

async function getManifestOnce(ctx: RepoContext, reference: string, signal?: AbortSignal): Promise<ManifestContent> {
  const ectx = manifestContext(ctx, reference, "fetch");
  const res = await ctx.client.send({
    method: "GET",
    url: manifestUrl(ctx, reference),
    headers: { accept: MANIFEST_ACCEPT },
    scopes: [pullScope(ctx.repository)],
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 200) throw await errorFromResponse(res, ectx);
  const what = `${ectx.what} from ${ctx.client.registry}`;
  const length = contentLength(res);
  if (length !== undefined && length > MAX_MANIFEST_BYTES) {
    abandonBody(res);
    throw new SizeLimitError(MAX_MANIFEST_BYTES, `${what} (${length} bytes)`);
  }
  const claimed = claimedDigest(res, ectx);
  const bytes = await readResponse(res, MAX_MANIFEST_BYTES, what);
  const digest = checkManifestDigest(bytes, reference, claimed, what);
  const mediaType = manifestMediaType(res, bytes, what)!;
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
}

/**
 * The descriptor of a manifest from a HEAD; undefined when the registry's
 * answer lacks what a descriptor needs (then the caller GETs instead).
 */
async function headManifest(ctx: RepoContext, reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
  const ectx = manifestContext(ctx, reference, "resolve");
  const res = await ctx.client.send({
    method: "HEAD",
    url: manifestUrl(ctx, reference),
    headers: { accept: MANIFEST_ACCEPT },
    scopes: [pullScope(ctx.repository)],
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 200) throw await errorFromResponse(res, ectx);
  await discard(res);
  const claimed = claimedDigest(res, ectx);
  if (isDigest(reference) && claimed !== undefined && claimed !== reference && claimed.split(":")[0] === reference.split(":")[0]) {
    throw new DigestMismatchError(reference, claimed, `${ectx.what} (Docker-Content-Digest from ${ctx.client.registry})`);
  }
  const digest = isDigest(reference) ? reference : claimed;
  const size = contentLength(res);
  const mediaType = manifestMediaType(res, undefined, ectx.what);
  if (digest === undefined || size === undefined || mediaType === undefined) return undefined;
  if (size > MAX_MANIFEST_BYTES) throw new SizeLimitError(MAX_MANIFEST_BYTES, `${ectx.what} (${size} bytes)`);
  return { mediaType, digest, size };
}

/** Tag or digest → descriptor: HEAD, falling back to GET when the HEAD answer is incomplete. */
export async function resolveManifest(ctx: RepoContext, reference: string, signal?: AbortSignal): Promise<Descriptor> {
  const fromHead = await headManifest(ctx, reference, signal);
  if (fromHead !== undefined) return fromHead;
  return (await getManifest(ctx, reference, signal)).descriptor;
}

export async function manifestExists(ctx: RepoContext, desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
  const res = await ctx.client.send({
    method: "HEAD",
    url: manifestUrl(ctx, desc.digest),
    headers: { accept: MANIFEST_ACCEPT },
    scopes: [pullScope(ctx.repository)],
    ...(signal ? { signal } : {}),
  });
  if (res.status === 404) {
    await discard(res);
    return false;
  }
  if (res.status !== 200) throw await errorFromResponse(res, manifestContext(ctx, desc.digest, "check"));
  await discard(res);
  return true;
}

/** Conditions for a read-modify-write (RFC 9110); registries that ignore them simply overwrite. */
export interface PutConditions {
  /** Overwrite only the manifest with this digest (its ETag). */
  ifMatch?: string;
  /** Create only: the reference must not exist yet. */
  ifNoneMatch?: boolean;
}

export interface PutManifestResult {
  /** The registry's OCI-Subject header: set when it indexed the manifest's subject for the referrers API itself. */
  subject?: string;
}

/** PUT a manifest under a tag or its digest; bytes must match desc, and the registry must agree on the digest. */
export async function putManifest(
  ctx: RepoContext,
  desc: Descriptor,
  bytes: Buffer,
  reference: string = desc.digest,
  signal?: AbortSignal,
  conditions: PutConditions = {},
): Promise<PutManifestResult> {
  const ectx = manifestContext(ctx, reference, "push");
  verifyBytes(desc, bytes, ectx.what);
  if (bytes.length > MAX_MANIFEST_BYTES) throw new SizeLimitError(MAX_MANIFEST_BYTES, ectx.what);
  if (!isManifestMediaType(desc.mediaType)) {
    // Registries key manifest handling on Content-Type; an unknown one is refused by most, so say so early.
    throw new InvalidContentError(`${ectx.what}: "${desc.mediaType}" is not a manifest media type`);
  }
  const res = await ctx.client.send({
    method: "PUT",
    url: manifestUrl(ctx, reference),
    headers: {
      "content-type": desc.mediaType,
      ...(conditions.ifMatch !== undefined ? { "if-match": `"${conditions.ifMatch}"` } : {}),
      ...(conditions.ifNoneMatch ? { "if-none-match": "*" } : {}),
    },
    body: bytes,
    scopes: [pushScope(ctx.repository)],
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 201 && res.status !== 200) throw await errorFromResponse(res, ectx);
  await discard(res);
  const stored = claimedDigest(res, ectx);
  if (stored !== undefined && stored !== desc.digest && stored.split(":")[0] === desc.digest.split(":")[0]) {
    throw new DigestMismatchError(desc.digest, stored, `${ectx.what} as stored by ${ctx.client.registry}`);
  }
  const subject = header(res.headers, "oci-subject");
  return subject !== undefined ? { subject } : {};
}

export async function deleteManifest(ctx: RepoContext, desc: Descriptor, signal?: AbortSignal): Promise<void> {
  const res = await ctx.client.send({
    method: "DELETE",
    url: manifestUrl(ctx, desc.digest),
    headers: {},
    scopes: [deleteScope(ctx.repository)],
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 202 && res.status !== 200 && res.status !== 204) {
    throw await errorFromResponse(res, manifestContext(ctx, desc.digest, "delete"));
  }
  await discard(res);
}
