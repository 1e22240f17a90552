/**
 * Referrers (manifests whose `subject` is a given manifest): the referrers API
 * `GET /v2/<name>/referrers/<digest>`, and, for registries without it
 * (distribution 2.8 answers 404), the tag schema: an image index tagged
 * `<alg>-<hex>` listing the referrers, which we also maintain on push.
 */
import type { Descriptor } from "../descriptor.js";
import { MediaType } from "../descriptor.js";
import { digestOf, parseDigest } from "../digest.js";
import { NotFoundError, RegistryError, SizeLimitError } from "../errors.js";
import { MAX_MANIFEST_BYTES, MAX_MANIFEST_CHILDREN, MAX_REFERRERS_PAGES } from "../limits.js";
import { parseReferrersIndex } from "../manifest.js";
import { pullScope } from "./auth/scope.js";
import { discard, header, readResponse } from "./http.js";
import { getManifest, putManifest } from "./manifests.js";
import { repoErrorContext, type RepoContext } from "./registry-client.js";
import { errorFromResponse } from "./response-errors.js";
import { nextLink } from "./tags.js";

/** Whether the registry implements the referrers API, learned on first use. */
export interface ReferrersState {
  api: "unknown" | "supported" | "unsupported";
}

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
  state: ReferrersState,
  subject: Descriptor,
  opts: { artifactType?: string; signal?: AbortSignal } = {},
): Promise<Descriptor[]> {
  if (state.api !== "unsupported") {
    const viaApi = await referrersFromApi(ctx, subject, opts);
    if (viaApi !== undefined) {
      state.api = "supported";
      return viaApi;
    }
    state.api = "unsupported";
  }
  return referrersFromTag(ctx, subject, opts);
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

async function referrersFromTag(
  ctx: RepoContext,
  subject: Descriptor,
  opts: { artifactType?: string; signal?: AbortSignal },
): Promise<Descriptor[]> {
  try {
    const { bytes } = await getManifest(ctx, referrersTag(subject.digest), opts.signal);
    return filterByType(parseReferrersIndex(bytes, `referrers index ${referrersTag(subject.digest)}`), opts.artifactType);
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    throw err;
  }
}

/**
 * Add a referrer to the subject's fallback index (for registries without the
 * referrers API). Read-modify-write: concurrent writers can lose an entry,
 * as with every client of the tag schema.
 */
export async function addToReferrersIndex(ctx: RepoContext, subject: Descriptor, referrer: Descriptor, signal?: AbortSignal): Promise<void> {
  const tag = referrersTag(subject.digest);
  let existing: Descriptor[] = [];
  try {
    existing = parseReferrersIndex((await getManifest(ctx, tag, signal)).bytes, `referrers index ${tag}`);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  if (existing.some((d) => d.digest === referrer.digest)) return;
  const index = { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [...existing, referrer] };
  const bytes = Buffer.from(JSON.stringify(index), "utf8");
  await putManifest(ctx, { mediaType: MediaType.ImageIndex, digest: digestOf(bytes), size: bytes.length }, bytes, tag, signal);
}
