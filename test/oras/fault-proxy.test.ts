/**
 * Self-tests of the fault proxy's hostile behaviours and its chaos mode, against the real registry: each
 * fault does what it says to the bytes on the wire (read with node:http, which hides nothing), Range
 * requests reach the registry, and chaos is reproducible from its seed.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "../support/content.js";
import { FAULT_KINDS, startFaultProxy, type FaultKind, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

let registry: RunningRegistry;
let proxy: FaultProxy;
let image: Awaited<ReturnType<typeof buildImage>>;
let blob: { digest: string; size: number; bytes: Buffer };

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy({ upstream: registry });
  image = await buildImage({ url: registry.url, repo: "hostile/app" }, { tag: "v1", layerSizes: [1000, 1024 * 1024] });
  const layer = image.layers[1]!;
  blob = { ...layer, bytes: await readAll(image.readBlob(layer.digest)) };
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

interface Received {
  status: number | undefined;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body ended as HTTP framing says it should (Content-Length, chunking or, without either, EOF). */
  complete: boolean;
  /** The error code, if the exchange failed (ECONNRESET, "gave up" when we stopped waiting). */
  error: string | undefined;
  headersAfterMs: number | undefined;
  endAfterMs: number;
}

/**
 * One GET on a fresh keep-alive connection (so any close is the proxy's doing), read as far as it goes. `giveUpAfterMs`: stop waiting when nothing has
 * arrived for that long; `maxBytes`: stop after that many body bytes.
 */
function get(path: string, opts: { headers?: Record<string, string>; giveUpAfterMs?: number; maxBytes?: number; method?: string; url?: string } = {}): Promise<Received> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    let result: Partial<Received> = {};
    const agent = new http.Agent({ keepAlive: true });
    const finish = (error?: string) => {
      agent.destroy();
      resolve({
        status: result.status,
        headers: result.headers ?? {},
        body: Buffer.concat(chunks),
        complete: result.complete ?? false,
        error,
        headersAfterMs: result.headersAfterMs,
        endAfterMs: Date.now() - started,
      });
    };
    let done = false;
    const once = (error?: string) => {
      if (!done) {
        done = true;
        finish(error);
      }
    };
    const req = http.request(`${opts.url ?? proxy.url}${path}`, { method: opts.method ?? "GET", headers: opts.headers, agent }, (res) => {
      result = { status: res.statusCode, headers: res.headers, headersAfterMs: Date.now() - started };
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        got += chunk.length;
        if (opts.maxBytes !== undefined && got >= opts.maxBytes) {
          req.destroy();
          once("max bytes");
        }
      });
      res.on("end", () => {
        result.complete = res.complete;
        once();
      });
      res.on("aborted", () => once("aborted"));
      res.on("error", (err: NodeJS.ErrnoException) => once(err.code ?? err.message));
      res.on("close", () => {
        result.complete = res.complete;
        once(res.complete ? undefined : "closed");
      });
    });
    if (opts.giveUpAfterMs !== undefined) {
      req.setTimeout(opts.giveUpAfterMs, () => {
        req.destroy();
        once("gave up");
      });
    }
    req.on("error", (err: NodeJS.ErrnoException) => once(err.code ?? err.message));
    req.end();
  });
}

const blobPath = () => `/v2/hostile/app/blobs/${blob.digest}`;
const manifestPath = `/v2/hostile/app/manifests/v1`;

/** Chaos that faults every request with `kind`; what one GET of the blob then receives. */
async function getWith(kind: FaultKind, opts: Parameters<typeof get>[1] & { stallMs?: number; seed?: number } = {}): Promise<Received> {
  const chaos = proxy.chaos({ seed: opts.seed ?? 1, probability: 1, kinds: [kind], stallMs: opts.stallMs ?? 300 });
  try {
    const received = await get(blobPath(), opts);
    expect(chaos.injected[kind]).toBe(1);
    expect(chaos.total).toBe(1);
    return received;
  } finally {
    chaos.stop();
  }
}

describe("fault proxy: each fault kind against the real registry", () => {
  it("forwards untouched without rules or chaos: the blob arrives whole", async () => {
    const got = await get(blobPath());
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(got.body.equals(blob.bytes)).toBe(true);
  });

  it.each([
    ["status-500", 500, "UNKNOWN", undefined],
    ["status-503", 503, "UNAVAILABLE", undefined],
    ["status-503-retry-after", 503, "UNAVAILABLE", "1"],
    ["status-429", 429, "TOOMANYREQUESTS", undefined],
    ["status-429-retry-after", 429, "TOOMANYREQUESTS", "1"],
  ] as const)("%s answers %i with a distribution error body, Retry-After %s", async (kind, status, code, retryAfter) => {
    const got = await getWith(kind);
    expect(got.status).toBe(status);
    expect(got.headers["retry-after"]).toBe(retryAfter);
    expect(JSON.parse(got.body.toString()).errors[0].code).toBe(code);
    expect(proxy.requests.at(-1)).toMatchObject({ fault: kind, status });
  });

  it("reset-before-headers: ECONNRESET before any response", async () => {
    const got = await getWith("reset-before-headers");
    expect(got.status).toBeUndefined();
    expect(got.error).toBe("ECONNRESET");
  });

  it("reset-mid-body: the head and part of the body, then a TCP reset", async () => {
    const got = await getWith("reset-mid-body", { seed: 7 });
    expect(got.status).toBe(200);
    expect(got.headers["content-length"]).toBe(String(blob.size));
    expect(got.complete).toBe(false);
    expect(["ECONNRESET", "aborted", "closed"]).toContain(got.error);
    expect(got.body.length).toBeLessThan(blob.size);
  });

  it("reset after exactly N bytes, as a RST when resetWith is 'reset'", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, resetAfterBytes: 0, resetWith: "reset" });
    const none = await get(blobPath());
    expect(none).toMatchObject({ status: 200, complete: false });
    expect(none.body.length).toBe(0);
    proxy.addRule({ method: "GET", path: /\/blobs\//, resetAfterBytes: 1000, resetWith: "reset" });
    const some = await get(blobPath());
    expect(some).toMatchObject({ status: 200, complete: false });
    expect(some.body.length).toBeLessThanOrEqual(1000);
    expect(some.body.equals(blob.bytes.subarray(0, some.body.length))).toBe(true);
  });

  it("stall-before-headers: nothing for stallMs, then the whole blob", async () => {
    const got = await getWith("stall-before-headers", { stallMs: 600 });
    expect(got.headersAfterMs).toBeGreaterThanOrEqual(550);
    expect(got.body.equals(blob.bytes)).toBe(true);
  });

  it("stall-mid-body: part of the body, nothing for stallMs, then the rest intact", async () => {
    const got = await getWith("stall-mid-body", { stallMs: 600, seed: 3 });
    expect(got.endAfterMs - got.headersAfterMs!).toBeGreaterThanOrEqual(550);
    expect(got.complete).toBe(true);
    expect(got.body.equals(blob.bytes)).toBe(true);
  });

  it("stalls for ever, before headers or mid-body, until the client gives up; the proxy then lets go", async () => {
    proxy.addRule({ method: "GET", path: /\/manifests\/v1$/, delayMs: Infinity });
    const before = await get(manifestPath, { giveUpAfterMs: 400 });
    expect(before).toMatchObject({ status: undefined, error: "gave up" });
    expect(proxy.requests.at(-1)!.status).toBeUndefined();

    proxy.addRule({ method: "GET", path: /\/blobs\//, stallAfterBytes: 1000 });
    const mid = await get(blobPath(), { giveUpAfterMs: 400 });
    expect(mid).toMatchObject({ status: 200, error: "gave up" });
    expect(mid.body.length).toBe(1000);
    expect(mid.body.equals(blob.bytes.subarray(0, 1000))).toBe(true);
    // The stalled exchanges hold nothing open: the same URLs answer at once now.
    expect((await get(blobPath())).body.equals(blob.bytes)).toBe(true);
  });

  it("truncate: the declared Content-Length, fewer bytes, then the connection closes", async () => {
    const got = await getWith("truncate", { seed: 5 });
    expect(got.headers["content-length"]).toBe(String(blob.size));
    expect(got.complete).toBe(false);
    expect(got.body.length).toBeLessThan(blob.size);
    expect(got.body.equals(blob.bytes.subarray(0, got.body.length))).toBe(true);
  });

  it("truncate-undeclared: no Content-Length, no chunking, and a short body that looks complete", async () => {
    const got = await getWith("truncate-undeclared", { seed: 5 });
    expect(got.status).toBe(200);
    expect(got.headers["content-length"]).toBeUndefined();
    expect(got.headers["transfer-encoding"]).toBeUndefined();
    expect(got.headers.connection).toBe("close");
    expect(got.complete).toBe(true);
    expect(got.error).toBeUndefined();
    expect(got.body.length).toBeLessThan(blob.size);
    expect(got.body.equals(blob.bytes.subarray(0, got.body.length))).toBe(true);
  });

  it("flip-byte: same length, one byte different", async () => {
    const got = await getWith("flip-byte", { seed: 11 });
    expect(got.complete).toBe(true);
    expect(got.body.length).toBe(blob.size);
    const differing = [...got.body.keys()].filter((i) => got.body[i] !== blob.bytes[i]);
    expect(differing).toHaveLength(1);
    expect(sha256(got.body)).not.toBe(blob.digest);
  });

  it("lie-digest: a Docker-Content-Digest that is not the content's, the content intact", async () => {
    const honest = await get(blobPath(), { method: "HEAD" });
    expect(honest.headers["docker-content-digest"]).toBe(blob.digest);
    const got = await getWith("lie-digest");
    expect(got.headers["docker-content-digest"]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(got.headers["docker-content-digest"]).not.toBe(blob.digest);
    expect(got.body.equals(blob.bytes)).toBe(true);
  });

  it("a Content-Length lie: smaller cuts a body that looks complete, larger sends all and closes", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, contentLength: 5000 });
    const short = await get(blobPath());
    expect(short).toMatchObject({ complete: true, error: undefined });
    expect(short.headers["content-length"]).toBe("5000");
    expect(short.body.equals(blob.bytes.subarray(0, 5000))).toBe(true);

    proxy.addRule({ method: "GET", path: /\/blobs\//, contentLength: blob.size + 10 });
    const long = await get(blobPath());
    expect(long.headers["content-length"]).toBe(String(blob.size + 10));
    expect(long.complete).toBe(false);
    // Closed by the proxy at once, not by an idle timeout.
    expect(long.endAfterMs).toBeLessThan(2000);
    expect(long.body.equals(blob.bytes)).toBe(true);

    // Chaos draws one of the two.
    const got = await getWith("lie-length", { seed: 2 });
    expect(Number(got.headers["content-length"])).not.toBe(blob.size);
  });

  it("redirect-other-origin: a 307 to another origin that serves the blob", async () => {
    const got = await getWith("redirect-other-origin");
    expect(got.status).toBe(307);
    const location = new URL(String(got.headers.location));
    expect(location.host).toBe(proxy.otherOrigin.host);
    const followed = await get(location.pathname + location.search, { url: proxy.otherOrigin.url });
    expect(followed.body.equals(blob.bytes)).toBe(true);
  });

  it("oversized-body: the blob and as many bytes again, chunked, complete", async () => {
    const got = await getWith("oversized-body");
    expect(got.headers["content-length"]).toBeUndefined();
    expect(got.headers["transfer-encoding"]).toBe("chunked");
    expect(got.complete).toBe(true);
    expect(got.body.length).toBe(2 * blob.size + 1);
    expect(got.body.subarray(0, blob.size).equals(blob.bytes)).toBe(true);
  });

  it("endless-body: bytes keep coming long after the blob ends, until the client stops", async () => {
    const got = await getWith("endless-body", { maxBytes: 8 * blob.size });
    expect(got.error).toBe("max bytes");
    expect(got.body.length).toBeGreaterThanOrEqual(8 * blob.size);
    expect(got.body.subarray(0, blob.size).equals(blob.bytes)).toBe(true);
  });

  it("extraBytes with dropContentLength: an oversized body delimited by the connection's end", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, extraBytes: 10, dropContentLength: true });
    const got = await get(blobPath());
    expect(got.headers["transfer-encoding"]).toBeUndefined();
    expect(got.complete).toBe(true);
    expect(got.body.length).toBe(blob.size + 10);
  });
});

describe("fault proxy: Range requests", () => {
  it("forwards Range, so the registry answers 206 with the rest of the blob, and records it", async () => {
    proxy.resetRequests();
    const got = await get(blobPath(), { headers: { range: "bytes=1000-" } });
    expect(got.status).toBe(206);
    expect(got.headers["content-range"]).toBe(`bytes 1000-${blob.size - 1}/${blob.size}`);
    expect(got.body.equals(blob.bytes.subarray(1000))).toBe(true);
    expect(proxy.requests.at(-1)!.range).toBe("bytes=1000-");
  });

  it("applies body faults to a partial body too", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, resetAfterBytes: 100 });
    const got = await get(blobPath(), { headers: { range: "bytes=1000-" } });
    expect(got).toMatchObject({ status: 206, complete: false });
    expect(got.body.equals(blob.bytes.subarray(1000, 1100))).toBe(true);
  });
});

describe("fault proxy: chaos mode", () => {
  async function faultSequence(seed: number, requests: number): Promise<(FaultKind | undefined)[]> {
    proxy.resetRequests();
    const chaos = proxy.chaos({ seed, probability: 0.5, kinds: ["status-500", "status-503", "status-429", "lie-digest"] });
    for (let i = 0; i < requests; i++) await get(manifestPath, { headers: { accept: image.manifest.mediaType } });
    chaos.stop();
    return proxy.requests.map((r) => r.fault);
  }

  it("is deterministic given the seed and the request order, and another seed draws otherwise", async () => {
    const first = await faultSequence(42, 30);
    expect(await faultSequence(42, 30)).toEqual(first);
    expect(await faultSequence(43, 30)).not.toEqual(first);
    expect(first.filter((f) => f !== undefined).length).toBeGreaterThan(5);
    expect(new Set(first.filter((f) => f !== undefined)).size).toBe(4);
  });

  it("faults about p of the eligible requests and counts them by kind", async () => {
    proxy.resetRequests();
    const chaos = proxy.chaos({ seed: 2024, probability: 0.2, kinds: ["status-500", "status-503"], method: "HEAD" });
    for (let i = 0; i < 200; i++) await get(blobPath(), { method: "HEAD" });
    // Not eligible (method), so never faulted.
    const ok = await get(manifestPath, { headers: { accept: image.manifest.mediaType } });
    expect(ok.status).toBe(200);
    chaos.stop();
    expect(chaos.eligible).toBe(200);
    expect(chaos.total).toBeGreaterThan(20);
    expect(chaos.total).toBeLessThan(60);
    expect(chaos.injected["status-500"] + chaos.injected["status-503"]).toBe(chaos.total);
    expect(proxy.requests.filter((r) => r.fault !== undefined)).toHaveLength(chaos.total);
    expect(proxy.requests.filter((r) => r.status !== 200 && r.status !== undefined)).toHaveLength(chaos.total);
  });

  it("draws only kinds that apply: no body faults for HEAD, and an empty body is skipped, not counted", async () => {
    proxy.resetRequests();
    const chaos = proxy.chaos({ seed: 9, probability: 1, kinds: ["flip-byte", "status-503"] });
    for (let i = 0; i < 5; i++) await get(blobPath(), { method: "HEAD" });
    expect(chaos.injected["status-503"]).toBe(5);
    expect(chaos.injected["flip-byte"]).toBe(0);
    chaos.stop();

    const bodyOnly = proxy.chaos({ seed: 9, probability: 1, kinds: ["flip-byte"] });
    const missing = await get(`/v2/hostile/app/blobs/sha256:${"0".repeat(64)}`);
    expect(missing.status).toBe(404);
    // The registry's 404 for a blob GET has an empty body: nothing to flip.
    expect(bodyOnly.skipped + bodyOnly.total).toBe(1);
    bodyOnly.stop();
  });

  it("rules take precedence over chaos", async () => {
    const chaos = proxy.chaos({ seed: 1, probability: 1, kinds: ["status-500"] });
    const rule = proxy.addRule({ method: "GET", path: /\/manifests\/v1$/, status: 418 });
    const got = await get(manifestPath);
    chaos.stop();
    expect(got.status).toBe(418);
    expect(rule.fired).toBe(1);
    expect(chaos.total).toBe(0);
  });

  it("knows every kind it lists", () => {
    for (const kind of FAULT_KINDS) expect(() => proxy.chaos({ seed: 1, probability: 0, kinds: [kind] }).stop()).not.toThrow();
    expect(() => proxy.chaos({ seed: 1, probability: 2 })).toThrow(/probability/);
  });
});
