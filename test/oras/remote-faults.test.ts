/**
 * Faults between client and a real (htpasswd) registry, injected by the fault proxy: retries,
 * integrity failures, broken connections and redirects with and without credentials.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { DigestMismatchError, NetworkError, RegistryError } from "../../src/oras/errors.js";
import { staticCredentials } from "../../src/oras/remote/auth/credentials.js";
import { RemoteRegistry } from "../../src/oras/remote/registry.js";
import type { RemoteOptions } from "../../src/oras/remote/registry-client.js";
import type { RemoteRepository } from "../../src/oras/remote/repository.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { pseudoRandomStream } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { descriptorOf as blob } from "../support/content.js";

let registry: RunningRegistry;
let proxy: FaultProxy;
const sleeps: number[] = [];

beforeAll(async () => {
  registry = await startRegistry({ auth: "htpasswd", users: { alice: "fault-pass" } });
  proxy = await startFaultProxy({ upstream: registry, otherOriginRejectsAuthorization: true });
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});
afterEach(() => {
  proxy.clearRules();
  proxy.resetRequests();
  sleeps.length = 0;
});

function repo(name: string, extra: RemoteOptions = {}): RemoteRepository {
  return new RemoteRegistry(proxy.host, {
    credentials: staticCredentials({ [proxy.host]: { username: "alice", password: "fault-pass" } }),
    // Record the waits instead of sleeping through them.
    retrySleep: async (ms) => void sleeps.push(ms),
    ...extra,
  }).repository(name);
}

async function drain(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const p of stream) hash.update(p as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

const EMPTY = Buffer.from("{}");
const EMPTY_DESC = blob(EMPTY, MediaType.EmptyJSON);

async function seedImage(r: RemoteRepository, tag: string): Promise<{ manifest: Descriptor; layer: Descriptor }> {
  const layerBytes = Buffer.alloc(256 * 1024, 0x5a);
  const layer = blob(layerBytes, MediaType.ImageLayer);
  await r.push(EMPTY_DESC, EMPTY);
  await r.push(layer, layerBytes);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EMPTY_DESC, layers: [layer] }));
  const manifest = blob(bytes, MediaType.ImageManifest);
  await r.pushManifest(manifest, bytes, { tag });
  return { manifest, layer };
}

describe("retries", () => {
  it("retries 503 with Retry-After, waiting what the registry asked, then succeeds", async () => {
    const r = repo("faults/retry");
    const { layer } = await seedImage(r, "v1");
    proxy.resetRequests();
    const rule = proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, times: 2, status: 503, headers: { "Retry-After": "1" } });
    expect(await drain(await r.fetch(layer))).toBe(layer.digest);
    expect(rule.fired).toBe(2);
    expect(proxy.count({ method: "GET", path: /\/blobs\/sha256:/ })).toBe(3);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it("gives up after the attempt limit with a RegistryError naming the registry and status", async () => {
    const r = repo("faults/retry", { retry: { maxAttempts: 3 } });
    const { layer } = await seedImage(r, "v1");
    proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, times: Infinity, status: 503 });
    const err = await r.fetch(layer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).status).toBe(503);
    expect((err as Error).message).toContain(`${proxy.host} answered 503`);
    expect(proxy.count({ method: "GET", path: /\/blobs\/sha256:/ })).toBe(3);
  });

  it("retries a connection reset", async () => {
    const r = repo("faults/reset");
    const { manifest } = await seedImage(r, "v1");
    const rule = proxy.addRule({ method: "HEAD", path: /\/manifests\/v1/, resetConnection: true });
    expect(await r.resolve("v1")).toEqual(manifest);
    expect(rule.fired).toBe(1);
  });

  it("re-sends a manifest PUT (bytes) after a 500", async () => {
    const r = repo("faults/put");
    await r.push(EMPTY_DESC, EMPTY);
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EMPTY_DESC, layers: [] }));
    const desc = blob(bytes, MediaType.ImageManifest);
    proxy.addRule({ method: "PUT", path: /\/manifests\//, status: 500 });
    await r.pushManifest(desc, bytes, { tag: "v1" });
    expect(proxy.count({ method: "PUT", path: /\/manifests\// })).toBe(2);
    expect(await r.resolve("v1")).toEqual(desc);
  });

  it("re-sends a failed chunk of a chunked upload", async () => {
    const r = repo("faults/chunks", { upload: { monolithicMaxBytes: 1024, chunkBytes: 1 << 20 } });
    const size = 3 * (1 << 20) + 17;
    const digest = await drain(pseudoRandomStream("fault-chunks", size));
    const desc: Descriptor = { mediaType: MediaType.ImageLayer, digest, size };
    await r.push(EMPTY_DESC, EMPTY); // authenticate first, so the counts below are upload requests only
    proxy.resetRequests();
    // The second PATCH fails once.
    let patches = 0;
    const rule = proxy.addRule({ method: "PATCH", path: { test: () => ++patches === 2 } as unknown as RegExp, status: 503 });
    await r.push(desc, pseudoRandomStream("fault-chunks", size));
    expect(rule.fired).toBe(1);
    expect(proxy.count({ method: "PATCH" })).toBe(4);
    expect(await r.exists(desc)).toBe(true);
  });

  it("never re-sends a streamed body: a failed streamed PUT is an error", async () => {
    const r = repo("faults/stream", { upload: { monolithicMaxBytes: 1024, largeBlobs: "stream" } });
    await r.push(EMPTY_DESC, EMPTY);
    const size = 2 << 20;
    const desc: Descriptor = { mediaType: MediaType.ImageLayer, digest: await drain(pseudoRandomStream("fault-stream", size)), size };
    proxy.resetRequests();
    proxy.addRule({ method: "PUT", path: /\/blobs\/uploads\//, status: 503 });
    const err = await r.push(desc, pseudoRandomStream("fault-stream", size)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(proxy.count({ method: "PUT" })).toBe(1);
    expect(await r.exists(desc)).toBe(false);
  });
});

describe("integrity", () => {
  it("refuses a manifest whose Docker-Content-Digest lies", async () => {
    const r = repo("faults/lie");
    await seedImage(r, "v1");
    proxy.addRule({ method: "GET", path: /\/manifests\/v1/, replaceHeader: { "Docker-Content-Digest": digestOf("something else") } });
    const err = await r.fetchManifest("v1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as DigestMismatchError).expected).toBe(digestOf("something else"));
  });

  it("refuses a manifest fetched by digest whose bytes were altered", async () => {
    const r = repo("faults/lie");
    const { manifest } = await seedImage(r, "v1");
    proxy.addRule({ method: "GET", path: /\/manifests\/sha256:/, corruptBody: true, corruptAt: 10 });
    await expect(r.fetch(manifest)).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it("fails a corrupted blob stream with DigestMismatchError", async () => {
    const r = repo("faults/corrupt");
    const { layer } = await seedImage(r, "v1");
    proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, corruptBody: true, corruptAt: 1000 });
    await expect(drain(await r.fetch(layer))).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it("fails a blob stream cut off mid-body every time with a NetworkError naming the registry", async () => {
    const r = repo("faults/cut");
    const { layer } = await seedImage(r, "v1");
    proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, resetAfterBytes: 4096, times: Infinity });
    const err = await drain(await r.fetch(layer)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toContain(proxy.host);
  });
});

describe("redirects", () => {
  it("follows a blob redirect to another origin without sending Authorization there", async () => {
    const r = repo("faults/redirect");
    const { layer } = await seedImage(r, "v1");
    proxy.resetRequests();
    proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, redirectTo: "other-origin" });
    expect(await drain(await r.fetch(layer))).toBe(layer.digest);
    const hops = proxy.requests.filter((q) => q.method === "GET" && q.url.includes("/blobs/"));
    expect(hops.map((q) => [q.listener, q.hasAuthorization, q.status])).toEqual([
      ["main", true, 307],
      ["other", false, 200],
    ]);
  });

  it("keeps Authorization on a same-origin redirect", async () => {
    const r = repo("faults/redirect");
    const { layer } = await seedImage(r, "v1");
    proxy.resetRequests();
    proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, redirectTo: "same-origin" });
    expect(await drain(await r.fetch(layer))).toBe(layer.digest);
    const hops = proxy.requests.filter((q) => q.method === "GET" && q.url.includes("/blobs/"));
    expect(hops.map((q) => [q.listener, q.hasAuthorization, q.status])).toEqual([
      ["main", true, 307],
      ["main", true, 200],
    ]);
  });
});
