/**
 * Tag listing: `GET /v2/<name>/tags/list?n=&last=`, following `Link: <…>; rel="next"`
 * headers page by page. Pages and their sizes are bounded.
 */
import { InvalidContentError, RegistryError } from "../errors.js";
import { MAX_TAG_LIST_PAGE_BYTES, MAX_TAG_LIST_PAGES } from "../limits.js";
import { pullScope } from "./auth/scope.js";
import { header, readResponse } from "./http.js";
import { repoErrorContext, type RepoContext } from "./registry-client.js";
import { errorFromResponse } from "./response-errors.js";


/** The target of the `rel="next"` link in a Link header (RFC 8288), if any. */
export function nextLink(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let i = 0;
  while (i < value.length) {
    const open = value.indexOf("<", i);
    const close = open < 0 ? -1 : value.indexOf(">", open);
    if (close < 0) return undefined;
    // Parameters run to the next comma outside quotes (a quoted title may hold commas).
    let j = close + 1;
    for (let quoted = false; j < value.length && (quoted || value[j] !== ","); j++) {
      if (value[j] === "\\" && quoted) j++;
      else if (value[j] === '"') quoted = !quoted;
    }
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(value.slice(close + 1, j));
    const rels = (rel?.[1] ?? rel?.[2] ?? "").toLowerCase().split(/\s+/);
    if (rels.includes("next")) return value.slice(open + 1, close);
    i = j + 1;
  }
  return undefined;
}

export interface TagListOptions {
  last?: string;
  pageSize?: number;
  signal?: AbortSignal;
}

export async function* listTags(ctx: RepoContext, opts: TagListOptions = {}): AsyncGenerator<string> {
  let url: URL | undefined = ctx.client.url(`/v2/${ctx.repository}/tags/list`);
  if (opts.pageSize !== undefined) url.searchParams.set("n", String(opts.pageSize));
  if (opts.last !== undefined) url.searchParams.set("last", opts.last);
  const visited = new Set<string>();
  const what = `tag list of ${ctx.client.registry}/${ctx.repository}`;
  for (let page = 0; url !== undefined; page++) {
    if (page >= MAX_TAG_LIST_PAGES) throw new RegistryError(`${what} has more than ${MAX_TAG_LIST_PAGES} pages; stopped`);
    visited.add(url.href);
    const res = await ctx.client.send({
      method: "GET",
      url,
      headers: { accept: "application/json" },
      scopes: [pullScope(ctx.repository)],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status !== 200) {
      throw await errorFromResponse(res, repoErrorContext(ctx, "tag list", "list"));
    }
    const text = (await readResponse(res, MAX_TAG_LIST_PAGE_BYTES, what)).toString("utf8");
    let tags: unknown;
    try {
      tags = (JSON.parse(text) as { tags?: unknown }).tags;
    } catch {
      throw new InvalidContentError(`${what} is not valid JSON`);
    }
    if (tags !== null && tags !== undefined && !Array.isArray(tags)) throw new InvalidContentError(`${what}: "tags" is not a list`);
    for (const tag of (tags ?? []) as unknown[]) {
      if (typeof tag !== "string") throw new InvalidContentError(`${what}: a tag is not a string`);
      yield tag;
    }
    const link = nextLink(header(res.headers, "link"));
    const next = link !== undefined ? new URL(link, res.url) : undefined;
    // A link back to a page we have read would loop forever.
    url = next !== undefined && !visited.has(next.href) ? next : undefined;
  }
}
