/**
 * Referrers (manifests whose `subject` is a given manifest): the referrers API
 * `GET /v2/<name>/referrers/<digest>`, and, for registries without it
 * (distribution 2.8 answers 404), the tag schema: an image index tagged
 * `<alg>-<hex>` listing the referrers, which we also maintain on push.
 */
import type { Descriptor } from "../descriptor.js";
import { isIndexMediaType, isManifestMediaType, MediaType } from "../descriptor.js";
import { digestOf, parseDigest } from "../digest.js";
import { NotFoundError, OciError, RegistryError, SizeLimitError } from "../errors.js";
import { MAX_MANIFEST_BYTES, MAX_MANIFEST_CHILDREN, MAX_REFERRERS_PAGES } from "../limits.js";
import { parseReferrersIndex } from "../manifest.js";
import { pullScope } from "./auth/scope.js";
import { discard, header, readResponse } from "./http.js";
import { getManifest, putManifest } from "./manifests.js";
import { repoErrorContext, type RepoContext } from "./registry-client.js";
import { errorFromResponse } from "./response-errors.js";
import { nextLink } from "./tags.js";

/** The fallback tag for a subject digest: `sha256:abc…` → `sha256-abc…`, cut to the 128 characters a tag may have. */
export function referrersTag(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}`.slice(0, 128);
}

function filterByType(list: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType === undefined ? list : list.filter((d) => d.artifactType === artifactType);
}

/** Referrers of subject, optionally only those of one artifactType. */
export async function listReferrers(
  ctx: RepoContext,
  subject: Descriptor,
  opts: { artifactType?: string; signal?: AbortSignal } = {},
): Promise<Descriptor[]> {
  const features = ctx.client.features;
  if (features.referrersApi !== "unsupported") {
    const viaApi = await referrersFromApi(ctx, subject, opts);
    if (viaApi !== undefined) {
      features.referrersApi = "supported";
      return viaApi;
    }
    features.referrersApi = "unsupported";
  }
  return filterByType((await readFallbackIndex(ctx, subject, opts.signal)).entries, opts.artifactType);
}

/** undefined when the registry does not implement the API. */
async function referrersFromApi(
  ctx: RepoContext,
  subject: Descriptor,
  opts: { artifactType?: string; signal?: AbortSignal },
): Promise<Descriptor[] | undefined> {
  let url: URL | undefined = ctx.client.url(`/v2/${ctx.repository}/referrers/${subject.digest}`);
  if (opts.artifactType !== undefined) url.searchParams.set("artifactType", opts.artifactType);
  const where = `referrers of ${subject.digest} in ${ctx.client.registry}/${ctx.repository}`;
  const out: Descriptor[] = [];
  for (let page = 0; url !== undefined; page++) {
    if (page >= MAX_REFERRERS_PAGES) throw new RegistryError(`${where} has more than ${MAX_REFERRERS_PAGES} pages; stopped`);
    const res = await ctx.client.send({
      method: "GET",
      url,
      headers: { accept: MediaType.ImageIndex },
      scopes: [pullScope(ctx.repository)],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (page === 0 && (res.status === 404 || res.status === 405)) {
      await discard(res);
      return undefined;
    }
    if (res.status !== 200) {
      throw await errorFromResponse(res, repoErrorContext(ctx, where, "list"));
    }
    const filtered = (header(res.headers, "oci-filters-applied") ?? "").split(",").map((s) => s.trim()).includes("artifactType");
    const bytes = await readResponse(res, MAX_MANIFEST_BYTES, where);
    const list = parseReferrersIndex(bytes, where);
    out.push(...(filtered ? list : filterByType(list, opts.artifactType)));
    if (out.length > MAX_MANIFEST_CHILDREN) throw new SizeLimitError(MAX_MANIFEST_CHILDREN, where, { unit: "descriptors" });
    const link = nextLink(header(res.headers, "link"));
    url = link !== undefined ? new URL(link, res.url) : undefined;
  }
  return out;
}

/** What sits at a subject's fallback tag, read as a referrers index. */
interface FallbackIndex {
  /** The referrers listed; [] when there is no index (or the tag holds something that is not one). */
  entries: Descriptor[];
  /** Digest of the index read, for If-Match; absent when the tag holds no index. */
  digest?: string;
}

/**
 * The subject's fallback index. Only an image index counts: some registries
 * answer a `sha256-<hex>` tag with the manifest of that digest itself, and an
 * image is not a list of referrers. Entries that are not manifests, or that
 * name the subject itself, are no referrers of it and are left out.
 */
async function readFallbackIndex(ctx: RepoContext, subject: Descriptor, signal?: AbortSignal): Promise<FallbackIndex> {
  const tag = referrersTag(subject.digest);
  let content;
  try {
    content = await getManifest(ctx, tag, signal);
  } catch (err) {
    if (err instanceof NotFoundError) return { entries: [] };
    throw err;
  }
  if (!isIndexMediaType(content.descriptor.mediaType) || content.descriptor.digest === subject.digest) return { entries: [] };
  const listed = parseReferrersIndex(content.bytes, `referrers index ${tag} in ${ctx.client.registry}/${ctx.repository}`);
  const entries = listed.filter((d) => isManifestMediaType(d.mediaType) && d.digest !== subject.digest);
  return { entries, digest: content.descriptor.digest };
}

/** How often a fallback index update is written again because another writer's update replaced ours. */
export const FALLBACK_INDEX_ROUNDS = 6;

/**
 * Add a referrer to the subject's fallback index (for registries without the
 * referrers API): read, keep every entry already there (other tools'
 * signatures and SBOMs), add ours unless present, write. Two writers at once
 * can each write an index without the other's entry, so the write is
 * conditional (If-Match: the digest read; registries that honour it answer
 * 412 and we merge again), and because most registries ignore conditions,
 * the index is read back after a pause longer than our own read-modify-write
 * took: a writer that read before our write has written by then, and if our
 * entry is gone it is merged in again. An old index is never deleted (other
 * tools may point at it); it is only replaced under the tag.
 */
export async function addToReferrersIndex(
  ctx: RepoContext,
  subject: Descriptor,
  referrer: Descriptor,
  signal?: AbortSignal,
  opts: { pause?: (ms: number) => Promise<void> } = {},
): Promise<void> {
  const tag = referrersTag(subject.digest);
  const wait = opts.pause ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let round = 0; round < FALLBACK_INDEX_ROUNDS; round++) {
    const started = Date.now();
    const current = await readFallbackIndex(ctx, subject, signal);
    if (!current.entries.some((d) => d.digest === referrer.digest)) {
      const index = { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [...current.entries, referrer] };
      const bytes = Buffer.from(JSON.stringify(index), "utf8");
      const desc = { mediaType: MediaType.ImageIndex, digest: digestOf(bytes), size: bytes.length };
      const conditions = current.digest !== undefined ? { ifMatch: current.digest } : { ifNoneMatch: true };
      try {
        await putManifest(ctx, desc, bytes, tag, signal, conditions);
      } catch (err) {
        // 412: another writer got there first, and this registry said so; merge with what it wrote.
        if (err instanceof OciError && err.response?.status === 412) continue;
        throw err;
      }
    } else {
      return;
    }
    // Settle: anyone who read before our write has written by the time this pause ends.
    const took = Date.now() - started;
    await wait(Math.min(5_000, 50 + 2 * took + Math.floor(Math.random() * 50)));
    if ((await readFallbackIndex(ctx, subject, signal)).entries.some((d) => d.digest === referrer.digest)) return;
  }
  throw new RegistryError(
    `the referrers index ${tag} in ${ctx.client.registry}/${ctx.repository} kept losing ${referrer.digest} to other writers (${FALLBACK_INDEX_ROUNDS} rounds)`,
    undefined,
    { hint: "the referrer itself is pushed; run the same command again once the other writers are done" },
  );
}
