/**
 * Protocol corners that Debian's distribution 2.8 never shows (relative upload Locations,
 * OCI-Chunk-Min-Length, the referrers API with paging and filtering, oversized or header-less
 * manifests), exercised against a small stand-in registry written to the distribution-spec.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { SizeLimitError } from "../../src/oras/errors.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { pseudoRandomStream } from "../support/images.js";

const MIN_CHUNK = 3 << 20;
const USER_AGENT = "standin-test/1.0";
const BIG = 5 << 20;

interface Seen {
  method: string;
  url: string;
  userAgent: string | undefined;
  contentRange: string | undefined;
  bodyBytes: number;
}

let server: http.Server;
let host: string;
const seen: Seen[] = [];
const blobs = new Map<string, Buffer>();
const uploads = new Map<string, Buffer[]>();
/** Manifests PUT under lax/app, accepted as they are (no validation, no referrers API): the tag schema fallback. */
const laxManifests = new Map<string, { type: string; body: Buffer }>();
let preconditionFailures = 0;
const plainManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: { mediaType: MediaType.EmptyJSON, digest: digestOf("{}"), size: 2 }, layers: [] }));

function referrer(n: number, artifactType: string): Descriptor {
  return { mediaType: MediaType.ImageManifest, digest: digestOf(`referrer ${n}`), size: 100 + n, artifactType };
}
const REFERRERS = [referrer(1, "application/x-sig"), referrer(2, "application/x-sbom"), referrer(3, "application/x-sig")];
const FILTERING_SUBJECT = digestOf("filtering subject");
const NON_FILTERING_SUBJECT = digestOf("subject of a registry that ignores artifactType");

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of req) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${host}`);
  const body = await readBody(req);
  seen.push({ method: req.method ?? "", url: url.pathname + url.search, userAgent: req.headers["user-agent"], contentRange: req.headers["content-range"], bodyBytes: body.length });
  const path = url.pathname;
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
    const bytes = Buffer.from(JSON.stringify(value));
    res.writeHead(status, { "content-type": "application/json", "content-length": String(bytes.length), ...headers });
    res.end(bytes);
  };

  if (req.method === "POST" && path === "/v2/sa/app/blobs/uploads/") {
    const id = `u${uploads.size + 1}`;
    uploads.set(id, []);
    // Relative, as the spec allows.
    res.writeHead(202, { location: `/v2/sa/app/blobs/uploads/${id}?step=0`, "oci-chunk-min-length": String(MIN_CHUNK), "content-length": "0" });
    return void res.end();
  }
  const upload = /^\/v2\/sa\/app\/blobs\/uploads\/(u\d+)$/.exec(path);
  if (upload) {
    const parts = uploads.get(upload[1]!)!;
    const have = parts.reduce((n, p) => n + p.length, 0);
    if (req.method === "PATCH") {
      const [start, end] = (req.headers["content-range"] ?? "").split("-").map(Number);
      if (start !== have || end !== have + body.length - 1) {
        res.writeHead(416, { "content-length": "0" });
        return void res.end();
      }
      parts.push(body);
      // Relative to the upload URL itself: just the last segment and a query.
      res.writeHead(202, { location: `${upload[1]}?step=${parts.length}`, range: `0-${have + body.length - 1}`, "content-length": "0" });
      return void res.end();
    }
    if (req.method === "PUT") {
      parts.push(body);
      const all = Buffer.concat(parts);
      const digest = `sha256:${createHash("sha256").update(all).digest("hex")}`;
      if (digest !== url.searchParams.get("digest")) return json(400, { errors: [{ code: "DIGEST_INVALID", message: "digest did not match" }] });
      blobs.set(digest, all);
      res.writeHead(201, { location: `/v2/sa/app/blobs/${digest}`, "docker-content-digest": digest, "content-length": "0" });
      return void res.end();
    }
  }
  if (path === "/v2/sa/app/manifests/too-big") {
    res.writeHead(200, { "content-type": MediaType.ImageManifest, "content-length": String(BIG) });
    return void res.end(Buffer.alloc(BIG, 0x20));
  }
  if (path === "/v2/sa/app/manifests/endless") {
    res.writeHead(200, { "content-type": MediaType.ImageManifest }); // chunked, no length
    return void res.end(Buffer.alloc(BIG, 0x20));
  }
  if (path === "/v2/sa/app/manifests/no-digest-header") {
    res.writeHead(200, { "content-type": "application/json", "content-length": String(plainManifest.length) });
    return void res.end(req.method === "HEAD" ? undefined : plainManifest);
  }
  const referrers = /^\/v2\/sa\/app\/referrers\/(sha256:[0-9a-f]{64})$/.exec(path);
  if (referrers) {
    const filtering = referrers[1] === FILTERING_SUBJECT;
    const type = url.searchParams.get("artifactType");
    let list = filtering && type !== null ? REFERRERS.filter((d) => d.artifactType === type) : REFERRERS;
    const page = url.searchParams.get("page") === "2" ? 2 : 1;
    const headers: Record<string, string> = {};
    if (filtering && type !== null) headers["oci-filters-applied"] = "artifactType";
    // Two per page; the link keeps the filter.
    if (page === 1 && list.length > 2) headers.link = `<${path}?page=2${type !== null ? `&artifactType=${encodeURIComponent(type)}` : ""}>; rel="next"`;
    list = page === 1 ? list.slice(0, 2) : list.slice(2);
    return json(200, { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: list }, { "content-type": MediaType.ImageIndex, ...headers });
  }
  const lax = /^\/v2\/lax\/app\/manifests\/([^/]+)$/.exec(path);
  if (lax && req.method === "PUT") {
    // Conditional writes honoured, as some registries do (distribution 2.8 ignores them).
    const current = laxManifests.get(lax[1]!);
    const currentDigest = current && `sha256:${createHash("sha256").update(current.body).digest("hex")}`;
    const ifMatch = req.headers["if-match"];
    if ((ifMatch !== undefined && ifMatch !== `"${currentDigest}"`) || (req.headers["if-none-match"] === "*" && current !== undefined)) {
      preconditionFailures++;
      return json(412, { errors: [{ code: "PRECONDITION_FAILED", message: "the manifest changed" }] });
    }
    laxManifests.set(lax[1]!, { type: req.headers["content-type"] ?? "", body });
    res.writeHead(201, { "docker-content-digest": `sha256:${createHash("sha256").update(body).digest("hex")}`, "content-length": "0" });
    return void res.end();
  }
  const stored = lax ? laxManifests.get(lax[1]!) : undefined;
  if (stored && (req.method === "GET" || req.method === "HEAD")) {
    const digest = `sha256:${createHash("sha256").update(stored.body).digest("hex")}`;
    res.writeHead(200, { "content-type": stored.type, "content-length": String(stored.body.length), "docker-content-digest": digest });
    return void res.end(req.method === "HEAD" ? undefined : stored.body);
  }
  json(404, { errors: [{ code: "NOT_FOUND", message: `stand-in has no ${req.method} ${path}` }] });
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function repo(): RemoteRepository {
  return new RemoteRepository({ registry: host, repository: "sa/app" }, { userAgent: USER_AGENT, upload: { monolithicMaxBytes: 1024, chunkBytes: 1 << 20 } });
}

describe("uploads", () => {
  it("honours OCI-Chunk-Min-Length, follows relative Locations and sends contiguous Content-Ranges", async () => {
    const size = 7 << 20;
    const hash = createHash("sha256");
    for await (const p of pseudoRandomStream("standin", size)) hash.update(p as Buffer);
    const desc: Descriptor = { mediaType: MediaType.ImageLayer, digest: `sha256:${hash.digest("hex")}`, size };
    seen.length = 0;
    await repo().push(desc, pseudoRandomStream("standin", size));
    expect(blobs.get(desc.digest)?.length).toBe(size);
    expect(seen.map((s) => [s.method, s.url.replace(/\?.*/, ""), s.contentRange, s.bodyBytes])).toEqual([
      ["POST", "/v2/sa/app/blobs/uploads/", undefined, 0],
      ["PATCH", "/v2/sa/app/blobs/uploads/u1", `0-${MIN_CHUNK - 1}`, MIN_CHUNK],
      ["PATCH", "/v2/sa/app/blobs/uploads/u1", `${MIN_CHUNK}-${2 * MIN_CHUNK - 1}`, MIN_CHUNK],
      ["PUT", "/v2/sa/app/blobs/uploads/u1", undefined, size - 2 * MIN_CHUNK],
    ]);
    // Each step went to the Location the previous answer gave.
    expect(seen.slice(1).map((s) => new URL(s.url, "http://x").searchParams.get("step"))).toEqual(["0", "1", "2"]);
    expect(new URL(seen[3]!.url, "http://x").searchParams.get("digest")).toBe(desc.digest);
    expect(seen.every((s) => s.userAgent === USER_AGENT)).toBe(true);
  });
});

describe("manifest limits and headers", () => {
  it("refuses a manifest announced larger than the limit, and one that streams past it", async () => {
    await expect(repo().fetchManifest("too-big")).rejects.toBeInstanceOf(SizeLimitError);
    await expect(repo().fetchManifest("endless")).rejects.toBeInstanceOf(SizeLimitError);
  });

  it("resolves by GET when HEAD has no Docker-Content-Digest, taking the media type from the body", async () => {
    seen.length = 0;
    const desc = await repo().resolve("no-digest-header");
    expect(desc).toEqual({ mediaType: MediaType.ImageManifest, digest: digestOf(plainManifest), size: plainManifest.length });
    expect(seen.map((s) => s.method)).toEqual(["HEAD", "GET"]);
  });
});

describe("referrers API", () => {
  const subject = (digest: string): Descriptor => ({ mediaType: MediaType.ImageManifest, digest, size: 1 });

  it("pages through referrers with Link headers", async () => {
    expect(await repo().predecessors(subject(FILTERING_SUBJECT))).toEqual(REFERRERS);
  });

  it("passes artifactType to a registry that filters, and filters itself when the registry did not", async () => {
    seen.length = 0;
    const sigs = REFERRERS.filter((d) => d.artifactType === "application/x-sig");
    expect(await repo().predecessors(subject(FILTERING_SUBJECT), { artifactType: "application/x-sig" })).toEqual(sigs);
    expect(seen.map((s) => new URL(s.url, "http://x").searchParams.get("artifactType"))).toEqual(["application/x-sig"]);
    expect(await repo().predecessors(subject(NON_FILTERING_SUBJECT), { artifactType: "application/x-sig" })).toEqual(sigs);
  });
});

describe("referrers tag schema on a registry that does not validate manifests", () => {
  it("lists a referrer without annotations whose values are not strings", async () => {
    const lax = new RemoteRepository({ registry: host, repository: "lax/app" });
    const subject = { mediaType: MediaType.ImageManifest, digest: digestOf(plainManifest), size: plainManifest.length };
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        artifactType: "application/x-sig",
        config: { mediaType: MediaType.EmptyJSON, digest: digestOf("{}"), size: 2 },
        layers: [],
        subject,
        annotations: { who: "me", count: 3 },
      }),
    );
    const desc = { mediaType: MediaType.ImageManifest, digest: digestOf(body), size: body.length };
    await lax.pushManifest(desc, body);
    const index = JSON.parse(laxManifests.get(`sha256-${subject.digest.slice(7)}`)!.body.toString("utf8"));
    // Before, the number went into the index as it was, and the index then failed every strict reader.
    expect(index.manifests).toEqual([{ ...desc, artifactType: "application/x-sig" }]);
    expect(await lax.predecessors(subject)).toEqual([{ ...desc, artifactType: "application/x-sig" }]);
  });
});

describe("referrers tag schema on a registry that honours If-Match", () => {
  it("merges again on 412 so that writers at once all end up in the index", async () => {
    const subject = { mediaType: MediaType.ImageManifest, digest: digestOf("subject with conditional writes"), size: 10 };
    const referrers = Array.from({ length: 4 }, (_, i) => {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, artifactType: "application/x-sig", config: { mediaType: MediaType.EmptyJSON, digest: digestOf("{}"), size: 2 }, layers: [], subject, annotations: { n: String(i) } }));
      return { desc: { mediaType: MediaType.ImageManifest, digest: digestOf(body), size: body.length }, body };
    });
    preconditionFailures = 0;
    await Promise.all(referrers.map((r) => new RemoteRepository({ registry: host, repository: "lax/app" }).pushManifest(r.desc, r.body)));
    const listed = await new RemoteRepository({ registry: host, repository: "lax/app" }).predecessors(subject);
    expect(listed.map((d) => d.digest).sort()).toEqual(referrers.map((r) => r.desc.digest).sort());
    // The conditions were sent and the stand-in refused the stale ones.
    expect(preconditionFailures).toBeGreaterThan(0);
    expect(seen.some((s) => s.method === "PUT" && s.url.includes("/manifests/sha256-"))).toBe(true);
  });
});
