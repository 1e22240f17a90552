/**
 * Tag pagination. Debian's distribution 2.8 ignores `n`, so Link-header paging is exercised against a
 * small stand-in server that pages the way the distribution-spec describes.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidContentError, NotFoundError } from "../../src/oras/errors.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { nextLink } from "../../src/oras/remote/tags.js";

describe("nextLink", () => {
  it("finds rel=next among several links, quoted or not", () => {
    expect(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"')).toBe("/v2/a/tags/list?n=2&last=b");
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next>; rel=next')).toBe("https://x/next");
    expect(nextLink('<https://x/p>; title="a, b"; rel="first next"')).toBe("https://x/p");
  });

  it("is undefined without a next link", () => {
    expect(nextLink(undefined)).toBeUndefined();
    expect(nextLink('<https://x/prev>; rel="prev"')).toBeUndefined();
    expect(nextLink("garbage")).toBeUndefined();
  });
});

const ALL_TAGS = ["a", "b", "c", "d", "e"];
let server: http.Server;
let host: string;
const seen: string[] = [];
/** Behaviour switches for individual tests. */
let mode: "normal" | "loop" | "absolute" | "bad" = "normal";

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${host}`);
    seen.push(url.pathname + url.search);
    if (url.pathname === "/v2/missing/tags/list") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }] }));
      return;
    }
    if (mode === "bad") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ name: "team/app", tags: [1, 2] }));
      return;
    }
    const n = Number(url.searchParams.get("n") ?? "100");
    const last = url.searchParams.get("last");
    const start = last === null ? 0 : ALL_TAGS.indexOf(last) + 1;
    const page = ALL_TAGS.slice(start, start + n);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (mode === "loop") headers.link = `</v2/team/app/tags/list?n=${n}>; rel="next"`;
    else if (start + n < ALL_TAGS.length) {
      const path = `/v2/team/app/tags/list?n=${n}&last=${page[page.length - 1]}`;
      headers.link = mode === "absolute" ? `<http://${host}${path}>; rel="next"` : `<${path}>; rel="next"`;
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify({ name: "team/app", tags: page }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const t of iterable) out.push(t);
  return out;
}

describe("tags()", () => {
  it("pages with n=2 over 5 tags by following relative Link headers", async () => {
    mode = "normal";
    seen.length = 0;
    const repo = new RemoteRepository({ registry: host, repository: "team/app" });
    expect(await collect(repo.tags({ pageSize: 2 }))).toEqual(ALL_TAGS);
    expect(seen).toEqual(["/v2/team/app/tags/list?n=2", "/v2/team/app/tags/list?n=2&last=b", "/v2/team/app/tags/list?n=2&last=d"]);
  });

  it("follows absolute Link headers and starts after `last`", async () => {
    mode = "absolute";
    const repo = new RemoteRepository({ registry: host, repository: "team/app" });
    expect(await collect(repo.tags({ pageSize: 2, last: "a" }))).toEqual(["b", "c", "d", "e"]);
  });

  it("stops when a Link points back at a page already read", async () => {
    mode = "loop";
    seen.length = 0;
    const repo = new RemoteRepository({ registry: host, repository: "team/app" });
    expect(await collect(repo.tags({ pageSize: 2 }))).toEqual(["a", "b"]);
    expect(seen).toHaveLength(1);
  });

  it("reports a missing repository and malformed pages", async () => {
    const missing = new RemoteRepository({ registry: host, repository: "missing" });
    await expect(collect(missing.tags())).rejects.toThrow(new NotFoundError(`repository ${host}/missing not found`));
    mode = "bad";
    const repo = new RemoteRepository({ registry: host, repository: "team/app" });
    await expect(collect(repo.tags())).rejects.toBeInstanceOf(InvalidContentError);
  });
});
