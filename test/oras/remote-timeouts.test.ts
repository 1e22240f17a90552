/**
 * Time limits and resumed transfers against a real registry behind the fault proxy: a registry that
 * stalls before its headers or mid-body fails within the limit with a message saying what it waited
 * for; the operation deadline stops retries; a blob whose connection breaks is continued with Range
 * (or fetched again from the start, once, when the answer to Range cannot be used) and still verified
 * whole; a chunked upload continues where the session says it broke off; a token service that never
 * answers fails too.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { NetworkError, RegistryError, UsageError } from "../../src/oras/errors.js";
import { staticCredentials } from "../../src/oras/remote/auth/credentials.js";
import { RemoteRegistry } from "../../src/oras/remote/registry.js";
import { RegistryClient, type RemoteOptions } from "../../src/oras/remote/registry-client.js";
import type { RemoteRepository } from "../../src/oras/remote/repository.js";
import type { RetryEvent } from "../../src/oras/remote/retry.js";
import { copyReference } from "../../src/oras/targets.js";
import { DEFAULT_TIMEOUTS, formatDuration, resolveTimeouts } from "../../src/oras/remote/timeouts.js";
import { descriptorOf as blob } from "../support/content.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { proxiedRegistry } from "../support/proxied-registry.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { startTokenServer, type TokenServer } from "../support/token-server.js";

/** Far longer than any limit below: a test that waited for it would be the hang we no longer have. */
const STALL_MS = 40_000;
/** "Finished well before the stall": generous for a loaded 2-core machine, far below STALL_MS. */
const PROMPTLY_MS = 15_000;

const events: RetryEvent[] = [];
const env = proxiedRegistry({}, {}, () => (events.length = 0));

function repo(name: string, extra: RemoteOptions = {}): RemoteRepository {
  return new RemoteRegistry(env.proxy.host, { onRetry: (e) => void events.push(e), ...extra }).repository(name);
}

async function drain(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const p of stream) hash.update(p as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/** Elapsed milliseconds of fn, and its outcome. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T | undefined; error: unknown }> {
  const start = Date.now();
  try {
    const result = await fn();
    return { ms: Date.now() - start, result, error: undefined };
  } catch (error) {
    return { ms: Date.now() - start, result: undefined, error };
  }
}

const EMPTY = Buffer.from("{}");
const EMPTY_DESC = blob(EMPTY, MediaType.EmptyJSON);

/**
 * An image with one 1 MiB layer of hex text: random, yet a valid string, so that a proxy rule can
 * answer with the whole blob as its body.
 */
async function seedImage(r: RemoteRepository, tag: string): Promise<{ manifest: Descriptor; layer: Descriptor; layerText: string }> {
  const layerText = randomBytes(512 * 1024).toString("hex");
  const layer = blob(Buffer.from(layerText), MediaType.ImageLayer);
  await r.push(EMPTY_DESC, EMPTY);
  await r.push(layer, Buffer.from(layerText));
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EMPTY_DESC, layers: [layer] }));
  const manifest = blob(bytes, MediaType.ImageManifest);
  await r.pushManifest(manifest, bytes, { tag });
  env.proxy.resetRequests();
  events.length = 0;
  return { manifest, layer, layerText };
}

function blobGets(layer: Descriptor): { range: string | undefined; status: number | undefined }[] {
  return env.proxy.requests.filter((q) => q.method === "GET" && q.url.endsWith(`/blobs/${layer.digest}`)).map((q) => ({ range: q.range, status: q.status }));
}

describe("the limits in force", () => {
  it("are 30 s to connect, 60 s for response headers, 30 s of silence mid-body and no operation deadline by default", () => {
    expect(DEFAULT_TIMEOUTS).toEqual({ connectMs: 30_000, headersMs: 60_000, idleBodyMs: 30_000, operationMs: 0 });
    expect(new RegistryClient("r.example").timeouts).toEqual(DEFAULT_TIMEOUTS);
    expect(new RegistryClient("r.example", { timeouts: { headersMs: 1500, operationMs: 120_000 } }).timeouts).toEqual({
      connectMs: 30_000,
      headersMs: 1500,
      idleBodyMs: 30_000,
      operationMs: 120_000,
    });
  });

  it("refuses a negative or non-finite limit", () => {
    expect(() => resolveTimeouts({ idleBodyMs: -1 })).toThrow(/timeouts.idleBodyMs/);
    expect(() => resolveTimeouts({ connectMs: Number.NaN })).toThrow(UsageError);
  });

  it("formats durations for messages", () => {
    expect([500, 1000, 1500, 30_000, 120_000, 5_400_000, 7_200_000].map(formatDuration)).toEqual(["500 ms", "1 s", "1.5 s", "30 s", "2 min", "1 h 30 min", "2 h"]);
  });
});

describe("a stalled registry", () => {
  it("that never completes the connection (a TLS handshake unanswered) fails within the connect limit", async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const host = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const r = new RemoteRegistry(host, { plainHttp: false, timeouts: { connectMs: 1000 } }).repository("stall/connect");
      const { ms, error } = await timed(() => r.resolve("v1"));
      expect(error).toBeInstanceOf(NetworkError);
      expect((error as Error).message).toBe(`cannot reach ${host}: no connection within 1 s`);
      expect(ms).toBeLessThan(PROMPTLY_MS);
    } finally {
      silent.close();
    }
  });

  it("that sends no response headers fails within the header limit, naming the registry and the request, and is not retried", async () => {
    const r = repo("stall/headers", { timeouts: { headersMs: 1000 } });
    await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/manifests\/v1$/, delayMs: STALL_MS, times: Infinity });
    const { ms, error } = await timed(() => r.fetchManifest("v1"));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe(`${env.proxy.host} sent no response headers for 1 s to GET /v2/stall/headers/manifests/v1`);
    expect(ms).toBeLessThan(PROMPTLY_MS);
    expect(env.proxy.count({ method: "GET", path: /\/manifests\/v1$/ })).toBe(1);
    expect(events).toEqual([]);
  });

  it("is given up on at the operation deadline even while the header limit has time left", async () => {
    const r = repo("stall/deadline", { timeouts: { headersMs: 30_000, operationMs: 1000 } });
    await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/manifests\/v1$/, delayMs: STALL_MS, times: Infinity });
    const { ms, error } = await timed(() => r.fetchManifest("v1"));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe(`gave up on fetch manifest v1 in ${env.proxy.host}/stall/deadline: not done within the operation deadline of 1 s`);
    expect(ms).toBeLessThan(PROMPTLY_MS);
  });

  it("that stops mid-body fails within the idle limit, saying which blob and how many bytes arrived", async () => {
    const r = repo("stall/body", { timeouts: { idleBodyMs: 1000 } });
    const { layer } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, stallAfterBytes: 1234, times: Infinity });
    for (const verify of [true, false]) {
      const { ms, error } = await timed(async () => drain(await r.fetch(layer, { verify })));
      expect(error).toBeInstanceOf(NetworkError);
      expect((error as Error).message).toBe(`${env.proxy.host} stopped sending the body of blob ${layer.digest} from ${env.proxy.host}/stall/body after 1234 bytes, idle for 1 s`);
      expect(ms).toBeLessThan(PROMPTLY_MS);
    }
    // A stall is not resumed: the limit is what the caller agreed to wait.
    expect(blobGets(layer).map((g) => g.range)).toEqual([undefined, undefined]);
  });

  it("is not one when the reader is what pauses: a body left unread past the idle limit still arrives whole", async () => {
    const r = repo("stall/slow-reader", { timeouts: { idleBodyMs: 300 } });
    const { layer } = await seedImage(r, "v1");
    const stream = await r.fetch(layer);
    const hash = createHash("sha256");
    const first = await new Promise<Buffer>((resolve) => stream.once("data", resolve));
    hash.update(first);
    // Backpressure: paused four times as long as the limit, as a slow destination would make a copy pause.
    stream.pause();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    for await (const p of stream) hash.update(p as Buffer);
    expect(`sha256:${hash.digest("hex")}`).toBe(layer.digest);
    expect(blobGets(layer)).toHaveLength(1);
  });

  it("mid-blob is given up on at the operation deadline, which spans the whole body", async () => {
    const r = repo("stall/blob-deadline", { timeouts: { idleBodyMs: 30_000, operationMs: 1500 } });
    const { layer } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, stallAfterBytes: 4321, times: Infinity });
    const { ms, error } = await timed(async () => drain(await r.fetch(layer)));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe(`gave up on fetch blob ${layer.digest} from ${env.proxy.host}/stall/blob-deadline: not done within the operation deadline of 1.5 s`);
    expect(ms).toBeLessThan(PROMPTLY_MS);
  });

  it("that stops mid-manifest fails within the idle limit with a NetworkError", async () => {
    const r = repo("stall/manifest", { timeouts: { idleBodyMs: 1000 } });
    await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/manifests\/v1$/, stallAfterBytes: 10, times: Infinity });
    const { ms, error } = await timed(() => r.fetchManifest("v1"));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(new RegExp(`^${env.proxy.host} stopped sending the body of manifest stall/manifest:v1 from ${env.proxy.host}, idle for 1 s$`));
    expect(ms).toBeLessThan(PROMPTLY_MS);
  });
});

describe("retries", () => {
  it("honour Retry-After on a 503 and report each retry", async () => {
    const r = repo("retry/503", { retrySleep: async () => {} });
    const { manifest } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "HEAD", path: /\/manifests\/v1$/, status: 503, headers: { "Retry-After": "2" }, times: 2 });
    expect(await r.resolve("v1")).toEqual(manifest);
    expect(events).toEqual([
      { kind: "retry", registry: env.proxy.host, what: "HEAD /v2/retry/503/manifests/v1", reason: "answered 503", attempt: 2, delayMs: 2000 },
      { kind: "retry", registry: env.proxy.host, what: "HEAD /v2/retry/503/manifests/v1", reason: "answered 503", attempt: 3, delayMs: 2000 },
    ]);
  });

  it("fetch a manifest again whose body broke off", async () => {
    const r = repo("retry/manifest-body", { retrySleep: async () => {} });
    const { manifest } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/manifests\/v1$/, resetAfterBytes: 10 });
    expect((await r.fetchManifest("v1")).descriptor).toEqual(manifest);
    expect(env.proxy.count({ method: "GET", path: /\/manifests\/v1$/ })).toBe(2);
    expect(events.map((e) => [e.kind, e.what])).toEqual([["retry", "GET /v2/retry/manifest-body/manifests/v1"]]);
    expect(events[0]!.reason).toMatch(new RegExp(`^connection to ${env.proxy.host} broke while reading manifest retry/manifest-body:v1`));
  });

  it("stop at the operation deadline rather than use up their attempts", async () => {
    const r = repo("retry/deadline", { timeouts: { operationMs: 2500 }, retry: { maxAttempts: 20, maxTotalWaitMs: 60_000 } });
    await seedImage(r, "v1");
    env.proxy.addRule({ method: "HEAD", path: /\/manifests\/v1$/, status: 503, headers: { "Retry-After": "1" }, times: Infinity });
    const { ms, error } = await timed(() => r.resolve("v1"));
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).status).toBe(503);
    expect((error as Error).message).toContain(`${env.proxy.host} answered 503`);
    const attempts = env.proxy.count({ method: "HEAD", path: /\/manifests\/v1$/ });
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(3);
    expect(ms).toBeLessThan(PROMPTLY_MS);
  });
});

describe("a blob download that breaks", () => {
  it("continues with Range from the byte it broke at, verified whole", async () => {
    const r = repo("resume/range");
    const { layer } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, resetAfterBytes: 300_000 });
    expect(await drain(await r.fetch(layer))).toBe(layer.digest);
    expect(blobGets(layer)).toEqual([
      { range: undefined, status: 200 },
      { range: "bytes=300000-", status: 206 },
    ]);
    expect(events.map((e) => [e.kind, e.offset])).toEqual([["resume", 300_000]]);
    expect(events[0]!.what).toBe(`blob ${layer.digest}`);
  });

  it("continues as often as it breaks, within the attempts allowed", async () => {
    const r = repo("resume/often");
    const { layer } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, resetAfterBytes: 100_000, times: 3 });
    expect(await drain(await r.fetch(layer, { verify: false }))).toBe(layer.digest);
    expect(blobGets(layer).map((g) => g.range)).toEqual([undefined, "bytes=100000-", "bytes=200000-", "bytes=300000-"]);
  });

  it("is fetched again from the start, once, when the 206 does not start where it broke", async () => {
    const r = repo("resume/wrong-range");
    const { layer } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, resetAfterBytes: 5000 });
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, status: 206, headers: { "Content-Range": `bytes 0-99/${layer.size}` }, body: "x".repeat(100) });
    expect(await drain(await r.fetch(layer))).toBe(layer.digest);
    expect(blobGets(layer)).toEqual([
      { range: undefined, status: 200 },
      { range: "bytes=5000-", status: 206 },
      { range: undefined, status: 200 },
    ]);
    expect(events.map((e) => [e.kind, e.offset])).toEqual([["restart", 5000]]);
  });

  it("uses a 200 answer to the Range request as the fetch from the start", async () => {
    const r = repo("resume/ignored-range");
    const { layer, layerText } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, resetAfterBytes: 5000 });
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, status: 200, body: layerText });
    expect(await drain(await r.fetch(layer))).toBe(layer.digest);
    expect(blobGets(layer)).toEqual([
      { range: undefined, status: 200 },
      { range: "bytes=5000-", status: 200 },
    ]);
    expect(events.map((e) => e.kind)).toEqual(["restart"]);
  });

  it("refuses a restarted blob whose bytes differ, by digest", async () => {
    const r = repo("resume/ignored-range");
    const { layer, layerText } = await seedImage(r, "v1");
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, resetAfterBytes: 5000 });
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, status: 200, body: layerText.replace(/^(.{6000})./s, "$1!") });
    await expect(drain(await r.fetch(layer))).rejects.toThrow(/digest mismatch/);
  });

  it("fails when the answer to Range cannot be used a second time", async () => {
    const r = repo("resume/twice");
    const { layer } = await seedImage(r, "v1");
    const wrong = { method: "GET", path: /\/blobs\/sha256:/, status: 206, headers: { "Content-Range": `bytes 0-99/${layer.size}` }, body: "x".repeat(100) };
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, resetAfterBytes: 5000 });
    env.proxy.addRule(wrong);
    env.proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, resetAfterBytes: 8000 });
    env.proxy.addRule(wrong);
    const err = await drain(await r.fetch(layer)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toBe(
      `blob ${layer.digest} from ${env.proxy.host}/resume/twice broke after 8000 bytes, and ${env.proxy.host} cannot resume it (it answered a Range request with 206 again)`,
    );
  });
});

describe("a chunked upload that breaks", () => {
  it("asks the session how much it holds and continues from there", async () => {
    const r = repo("upload/chunked", { upload: { monolithicMaxBytes: 1024, chunkBytes: 256 * 1024 }, retrySleep: async () => {} });
    const bytes = randomBytes(1024 * 1024 + 77);
    const desc = blob(bytes, MediaType.ImageLayer);
    await r.push(EMPTY_DESC, EMPTY);
    env.proxy.resetRequests();
    let patches = 0;
    env.proxy.addRule({ method: "PATCH", path: { test: () => ++patches === 2 } as unknown as RegExp, status: 416 });
    const { Readable } = await import("node:stream");
    await r.push(desc, Readable.from([bytes]));
    expect(await r.exists(desc)).toBe(true);
    expect(env.proxy.count({ method: "GET", path: /\/blobs\/uploads\// })).toBe(1);
    expect(events.map((e) => [e.kind, e.offset])).toEqual([["resume", 256 * 1024]]);
  });
});

describe("a copy whose streamed blob upload breaks", () => {
  it("sends the blob again, fetched afresh from the source, and counts the retry", async () => {
    const source = new RemoteRegistry(env.registry.host).repository("copy/src");
    const { manifest, layer } = await seedImage(source, "v1");
    const rule = env.proxy.addRule({ method: "PUT", path: new RegExp(`/blobs/uploads/.*digest=${layer.digest.replace(":", "(:|%3A)")}`), status: 503 });
    const result = await copyReference(`${env.registry.host}/copy/src:v1`, `${env.proxy.host}/copy/dst:v1`, {
      remote: { upload: { monolithicMaxBytes: 1024, largeBlobs: "stream" }, onRetry: (e) => void events.push(e) },
    });
    expect(rule.fired).toBe(1);
    expect(result.root).toEqual(manifest);
    expect(result.stats).toMatchObject({ uploaded: 3, retries: 1, resumes: 0 });
    expect(await drain(await repo("copy/dst").fetch(layer))).toBe(layer.digest);
  });
});

describe("a token service that never answers", () => {
  let tokens: TokenServer;
  let tokenProxy: FaultProxy;
  let secured: RunningRegistry;
  beforeAll(async () => {
    tokens = await startTokenServer({ users: { alice: "token-pass" } });
    tokenProxy = await startFaultProxy({ upstream: tokens });
    secured = await startRegistry({ auth: "token", tokenServer: { ...tokens, realm: `${tokenProxy.url}/token` } });
  });
  afterAll(async () => {
    await secured?.stop();
    await tokenProxy?.stop();
    await tokens?.stop();
  });

  it("fails within the header limit, naming the token service", async () => {
    const r = new RemoteRegistry(secured.host, {
      credentials: staticCredentials({ [secured.host]: { username: "alice", password: "token-pass" } }),
      timeouts: { headersMs: 1000 },
    }).repository("team/app");
    tokenProxy.addRule({ path: /^\/token/, delayMs: STALL_MS, times: Infinity });
    const { ms, error } = await timed(() => r.resolve("v1"));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe(`${tokenProxy.host} sent no response headers for 1 s to GET /token`);
    expect(ms).toBeLessThan(PROMPTLY_MS);
  });
});
