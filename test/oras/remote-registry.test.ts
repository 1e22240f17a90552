/**
 * RemoteRepository / RemoteRegistry against the real distribution registry (no auth). A pass-through
 * fault proxy in front of it counts the requests a strategy makes.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import {
  DigestMismatchError,
  InvalidReferenceError,
  NetworkError,
  NotFoundError,
  SizeMismatchError,
  UnsupportedError,
} from "../../src/oras/errors.js";
import { RemoteRegistry } from "../../src/oras/remote/registry.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { referrersTag } from "../../src/oras/remote/referrers.js";
import { RegistryCapabilities } from "../../src/oras/remote/capabilities.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { pseudoRandomStream } from "../support/images.js";
import { freePort, startRegistry, type RunningRegistry } from "../support/registry.js";
import { descriptorOf as blob, readAll } from "../support/content.js";

let registry: RunningRegistry;
let proxy: FaultProxy;
let noDelete: RunningRegistry;

beforeAll(async () => {
  [registry, noDelete] = await Promise.all([startRegistry(), startRegistry({ deleteEnabled: false })]);
  proxy = await startFaultProxy({ upstream: registry });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([registry?.stop(), noDelete?.stop()]);
});

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const p of stream) hash.update(p as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/** A pseudo-random blob of `size` bytes: its descriptor, and a way to stream it again. */
async function randomBlob(label: string, size: number): Promise<{ desc: Descriptor; open: () => Readable }> {
  const digest = await sha256Of(pseudoRandomStream(label, size));
  return { desc: { mediaType: MediaType.ImageLayer, digest, size }, open: () => pseudoRandomStream(label, size) };
}

const EMPTY = Buffer.from("{}");
const EMPTY_DESC = blob(EMPTY, MediaType.EmptyJSON);

function manifestFor(layers: Descriptor[], extra: Record<string, unknown> = {}): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EMPTY_DESC, layers, ...extra }));
  return { desc: blob(bytes, MediaType.ImageManifest), bytes };
}

describe("blobs", () => {
  it("pushes bytes and streams, reports existence, and pulls them back verified", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "blobs/basic" });
    const a = Buffer.from("hello, registry");
    const b = Buffer.from("a streamed small blob");
    expect(await repo.exists(blob(a))).toBe(false);
    await repo.push(blob(a), a);
    await repo.push(blob(b), Readable.from([b.subarray(0, 5), b.subarray(5)]));
    expect(await repo.exists(blob(a))).toBe(true);
    expect(await repo.exists(blob(b))).toBe(true);
    expect(await readAll(await repo.fetch(blob(a)))).toEqual(a);
    expect(await readAll(await repo.fetch(blob(b), { verify: false }))).toEqual(b);
  });

  it("uploads a 20 MB blob in PATCH chunks, following Location each step, and pulls it back", async () => {
    const repo = new RemoteRepository(
      { registry: proxy.host, repository: "blobs/chunked" },
      { upload: { monolithicMaxBytes: 1 << 20, chunkBytes: 4 << 20 } },
    );
    const { desc, open } = await randomBlob("chunked-20mb", 20 * 1000 * 1000);
    proxy.resetRequests();
    await repo.push(desc, open());
    // 20 MB in 4 MiB chunks is 5 chunks: 4 PATCHes, the 5th rides on the closing PUT.
    expect(proxy.count({ method: "PATCH", path: /\/blobs\/uploads\// })).toBe(4);
    expect(proxy.count({ method: "PUT", path: /\/blobs\/uploads\/.*digest=sha256/ })).toBe(1);
    expect(await sha256Of(await repo.fetch(desc))).toBe(desc.digest);
  });

  it("uploads a large blob in one streamed PUT when asked to", async () => {
    const repo = new RemoteRepository(
      { registry: proxy.host, repository: "blobs/streamed" },
      { upload: { monolithicMaxBytes: 1 << 20, largeBlobs: "stream" } },
    );
    const { desc, open } = await randomBlob("streamed-6mb", 6 << 20);
    proxy.resetRequests();
    await repo.push(desc, open());
    expect(proxy.count({ method: "PATCH" })).toBe(0);
    expect(proxy.count({ method: "PUT" })).toBe(1);
    expect(await repo.exists(desc)).toBe(true);
  });

  it("copies a blob registry-to-registry with verify:false, the destination checking the digest", async () => {
    const src = new RemoteRepository({ registry: registry.host, repository: "blobs/copy-src" });
    const dst = new RemoteRepository({ registry: noDelete.host, repository: "blobs/copy-dst" }, { upload: { monolithicMaxBytes: 1 << 20, largeBlobs: "stream" } });
    const { desc, open } = await randomBlob("copy-3mb", 3 << 20);
    await src.push(desc, open());
    await dst.push(desc, await src.fetch(desc, { verify: false }));
    expect(await dst.exists(desc)).toBe(true);
  });

  it("refuses content whose digest is wrong (the registry checks) and stores nothing", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "blobs/wrong" });
    const bytes = Buffer.from("actual content");
    const lie: Descriptor = { ...blob(bytes), digest: digestOf("other content") };
    await expect(repo.push(lie, bytes)).rejects.toBeInstanceOf(DigestMismatchError);
    const big = await randomBlob("wrong-big", 2 << 20);
    const bigLie = { ...big.desc, digest: digestOf("nope") };
    const chunked = new RemoteRepository({ registry: registry.host, repository: "blobs/wrong" }, { upload: { monolithicMaxBytes: 1024, chunkBytes: 1 << 20 } });
    await expect(chunked.push(bigLie, big.open())).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await repo.exists(lie)).toBe(false);
    expect(await repo.exists(bigLie)).toBe(false);
  });

  it("refuses content shorter or longer than its descriptor before finishing the upload", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "blobs/size" }, { upload: { monolithicMaxBytes: 1024, chunkBytes: 4096 } });
    const bytes = Buffer.alloc(10_000, 7);
    const desc = blob(bytes);
    await expect(repo.push(desc, Readable.from([bytes.subarray(0, 9_000)]))).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(repo.push(desc, Readable.from([bytes, Buffer.from("extra")]))).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(repo.push({ ...desc, size: 5 }, Readable.from([bytes.subarray(0, 100)]))).rejects.toBeInstanceOf(SizeMismatchError);
    expect(await repo.exists(desc)).toBe(false);
  });

  it("names what is missing", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "blobs/basic" });
    const ghost = blob(Buffer.from("never pushed"));
    await expect(repo.fetch(ghost)).rejects.toThrow(new NotFoundError(`blob ${ghost.digest} not found in ${registry.host}/blobs/basic`));
  });

  it("mounts across repositories (201) and reports a declined mount as false", async () => {
    const from = new RemoteRepository({ registry: proxy.host, repository: "mount/source" });
    const to = new RemoteRepository({ registry: proxy.host, repository: "mount/target" });
    const bytes = Buffer.from("mount me");
    await from.push(blob(bytes), bytes);
    proxy.resetRequests();
    expect(await to.mount(blob(bytes), "mount/source")).toBe(true);
    expect(proxy.count({ method: "POST", path: /mount=sha256/ })).toBe(1);
    expect(await to.exists(blob(bytes))).toBe(true);
    const missing = blob(Buffer.from("not in the source"));
    expect(await to.mount(missing, "mount/source")).toBe(false);
    // The upload session the registry opened instead was cancelled.
    expect(proxy.count({ method: "DELETE", path: /\/blobs\/uploads\// })).toBe(1);
  });
});

describe("manifests and tags", () => {
  it("pushes a manifest under a tag in one PUT, then resolves and fetches it by tag and by digest", async () => {
    const repo = new RemoteRepository({ registry: proxy.host, repository: "man/app" });
    const layer = Buffer.from("layer one");
    await repo.push(EMPTY_DESC, EMPTY);
    await repo.push(blob(layer, MediaType.ImageLayer), layer);
    const m = manifestFor([blob(layer, MediaType.ImageLayer)]);
    proxy.resetRequests();
    await repo.pushManifest(m.desc, m.bytes, { tag: "v1" });
    expect(proxy.count({ method: "PUT", path: /\/manifests\// })).toBe(1);
    expect(await repo.resolve("v1")).toEqual(m.desc);
    expect(await repo.resolve(m.desc.digest)).toEqual(m.desc);
    expect(await repo.resolve(`${proxy.host}/man/app:v1`)).toEqual(m.desc);
    const byTag = await repo.fetchManifest("v1");
    expect(byTag.descriptor).toEqual(m.desc);
    expect(byTag.bytes).toEqual(m.bytes);
    expect(await readAll(await repo.fetch(m.desc))).toEqual(m.bytes);
    expect(await repo.exists(m.desc)).toBe(true);
    await expect(repo.resolve("other.example/x:v1")).rejects.toBeInstanceOf(InvalidReferenceError);
  });

  it("keeps Docker media types and retags by digest", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "man/docker" });
    const cfg = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    await repo.push(blob(cfg, MediaType.DockerConfig), cfg);
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: blob(cfg, MediaType.DockerConfig), layers: [] }));
    const desc = blob(bytes, MediaType.DockerManifest);
    await repo.push(desc, bytes);
    await repo.tag(desc, "latest");
    expect(await repo.resolve("latest")).toEqual(desc);
  });

  it("lists tags (the registry ignores n, so all come in one page)", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "man/tags" });
    await repo.push(EMPTY_DESC, EMPTY);
    const m = manifestFor([]);
    await repo.push(m.desc, m.bytes);
    for (const t of ["t1", "t2", "t3", "t4", "t5"]) await repo.tag(m.desc, t);
    const tags: string[] = [];
    for await (const t of repo.tags({ pageSize: 2 })) tags.push(t);
    expect(tags.sort()).toEqual(["t1", "t2", "t3", "t4", "t5"]);
  });

  it("names missing manifests and repositories", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "man/app" });
    await expect(repo.resolve("missing")).rejects.toThrow(new NotFoundError(`manifest man/app:missing not found in ${registry.host}/man/app`));
    const nowhere = new RemoteRepository({ registry: registry.host, repository: "no/such/repo" });
    await expect(nowhere.fetchManifest("v1")).rejects.toBeInstanceOf(NotFoundError);
    const tags = (async () => {
      for await (const _ of nowhere.tags()) void _;
    })();
    await expect(tags).rejects.toThrow(`repository ${registry.host}/no/such/repo not found`);
  });

  it("refuses a manifest whose bytes do not match its descriptor before sending it", async () => {
    const repo = new RemoteRepository({ registry: proxy.host, repository: "man/app" });
    const m = manifestFor([]);
    proxy.resetRequests();
    await expect(repo.pushManifest({ ...m.desc, digest: digestOf("x") }, m.bytes)).rejects.toBeInstanceOf(DigestMismatchError);
    expect(proxy.count({ method: "PUT" })).toBe(0);
  });
});

describe("what the registry said", () => {
  it("keeps method, URL, status and the registry's error codes on the errors it causes", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "said/app" });
    const missing = await repo.fetchManifest("missing").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).response).toEqual({
      method: "GET",
      url: `http://${registry.host}/v2/said/app/manifests/missing`,
      status: 404,
      errors: [expect.objectContaining({ code: "MANIFEST_UNKNOWN", message: expect.any(String) })],
    });

    const tags = (async () => {
      for await (const _ of new RemoteRepository({ registry: registry.host, repository: "said/none" }).tags({ pageSize: 5 })) void _;
    })();
    const unknownRepo = (await tags.catch((e: unknown) => e)) as NotFoundError;
    // The query (n=5) is not kept: upload and storage URLs carry secrets there.
    expect(unknownRepo.response).toMatchObject({ method: "GET", url: `http://${registry.host}/v2/said/none/tags/list`, status: 404 });
    expect(unknownRepo.response!.errors.map((e) => e.code)).toEqual(["NAME_UNKNOWN"]);

    const refused = await new RemoteRepository({ registry: noDelete.host, repository: "said/app" })
      .delete(blob(Buffer.from("never there")))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnsupportedError);
    expect((refused as UnsupportedError).response).toMatchObject({ method: "DELETE", status: 405 });
  });

  it("keeps DIGEST_INVALID on the DigestMismatchError of a refused upload, without the upload URL's query", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "said/upload" });
    const bytes = Buffer.from("what was sent");
    const err = (await repo.push({ ...blob(bytes), digest: digestOf("what was promised") }, bytes).catch((e: unknown) => e)) as DigestMismatchError;
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err.response).toMatchObject({ method: "PUT", status: 400 });
    expect(err.response!.errors.map((e) => e.code)).toContain("DIGEST_INVALID");
    expect(err.response!.url).toMatch(new RegExp(`^http://${registry.host}/v2/said/upload/blobs/uploads/[^?#]+$`));
  });
});

describe("referrers", () => {
  it("falls back to the tag schema on a registry without the referrers API, and maintains it on push", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "ref/app" });
    await repo.push(EMPTY_DESC, EMPTY);
    const subject = manifestFor([]);
    await repo.pushManifest(subject.desc, subject.bytes, { tag: "v1" });
    expect(await repo.predecessors(subject.desc)).toEqual([]);

    const sig = manifestFor([EMPTY_DESC], { artifactType: "application/vnd.example.sig", subject: subject.desc, annotations: { who: "me" } });
    const sbom = manifestFor([EMPTY_DESC], { artifactType: "application/vnd.example.sbom", subject: subject.desc });
    await repo.pushManifest(sig.desc, sig.bytes);
    await repo.pushManifest(sbom.desc, sbom.bytes);
    await repo.pushManifest(sig.desc, sig.bytes); // again: no duplicate entry

    const all = await repo.predecessors(subject.desc);
    expect(all).toEqual([
      { ...sig.desc, artifactType: "application/vnd.example.sig", annotations: { who: "me" } },
      { ...sbom.desc, artifactType: "application/vnd.example.sbom" },
    ]);
    expect((await repo.predecessors(subject.desc, { artifactType: "application/vnd.example.sbom" })).map((d) => d.digest)).toEqual([sbom.desc.digest]);
    const fallback = await repo.resolve(referrersTag(subject.desc.digest));
    expect(fallback.mediaType).toBe(MediaType.ImageIndex);
  });
});

describe("referrers fallback index with other writers", () => {
  async function subjectIn(repo: RemoteRepository, seed: string) {
    await repo.push(EMPTY_DESC, EMPTY);
    const subject = manifestFor([], { annotations: { seed } });
    await repo.pushManifest(subject.desc, subject.bytes, { tag: seed });
    return subject;
  }
  const referrerOf = (subject: { desc: Descriptor }, who: string, type = "application/vnd.example.sig") =>
    manifestFor([EMPTY_DESC], { artifactType: type, subject: subject.desc, annotations: { who } });

  it("keeps every entry another tool put in the index", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "ref/others" });
    const subject = await subjectIn(repo, "others");
    // A third tool wrote the fallback index itself, with an entry we know nothing about.
    const theirs = referrerOf(subject, "cosign", "application/vnd.dev.cosign.artifact.sig.v1+json");
    await repo.push(theirs.desc, theirs.bytes);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [{ ...theirs.desc, artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json" }] }));
    await repo.pushManifest(blob(index, MediaType.ImageIndex), index, { tag: referrersTag(subject.desc.digest) });

    const ours = referrerOf(subject, "kit");
    await repo.pushManifest(ours.desc, ours.bytes);
    expect((await repo.predecessors(subject.desc)).map((d) => d.digest)).toEqual([theirs.desc.digest, ours.desc.digest]);
  });

  it("loses no entry when several writers attach to one subject at once", async () => {
    const setup = new RemoteRepository({ registry: registry.host, repository: "ref/race" });
    const subject = await subjectIn(setup, "race");
    const referrers = Array.from({ length: 5 }, (_, i) => referrerOf(subject, `writer-${i}`));
    // Separate clients, as separate processes would be; all start together.
    await Promise.all(referrers.map((r) => new RemoteRepository({ registry: registry.host, repository: "ref/race" }).pushManifest(r.desc, r.bytes)));
    const listed = (await setup.predecessors(subject.desc)).map((d) => d.digest).sort();
    expect(listed).toEqual(referrers.map((r) => r.desc.digest).sort());
  });

  it("does not take a fallback tag that holds an image for a list of referrers", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "ref/imposter" });
    const subject = await subjectIn(repo, "imposter");
    // Some registries answer the sha256-<hex> tag with the manifest itself; here it is simply tagged so.
    const image = manifestFor([EMPTY_DESC], { annotations: { not: "an index" } });
    await repo.pushManifest(image.desc, image.bytes, { tag: referrersTag(subject.desc.digest) });
    expect(await repo.predecessors(subject.desc)).toEqual([]);
    const ours = referrerOf(subject, "kit");
    await repo.pushManifest(ours.desc, ours.bytes);
    expect((await repo.predecessors(subject.desc)).map((d) => d.digest)).toEqual([ours.desc.digest]);
  });

  it("remembers per registry that it has no referrers API, across repositories sharing the capabilities", async () => {
    const capabilities = new RegistryCapabilities();
    const a = new RemoteRepository({ registry: proxy.host, repository: "ref/cap-a" }, { capabilities });
    const subject = await subjectIn(a, "cap");
    await a.predecessors(subject.desc);
    expect(capabilities.of(proxy.host).referrersApi).toBe("unsupported");
    proxy.resetRequests();
    const b = new RemoteRepository({ registry: proxy.host, repository: "ref/cap-a" }, { capabilities });
    await b.predecessors(subject.desc);
    expect(proxy.requests.filter((r) => r.url.includes("/referrers/"))).toEqual([]);
  });
});

describe("delete", () => {
  it("deletes manifests and blobs", async () => {
    const repo = new RemoteRepository({ registry: registry.host, repository: "del/app" });
    const bytes = Buffer.from("delete me");
    await repo.push(blob(bytes), bytes);
    await repo.push(EMPTY_DESC, EMPTY);
    const m = manifestFor([blob(bytes)]);
    await repo.pushManifest(m.desc, m.bytes, { tag: "gone" });
    await repo.delete(m.desc);
    await repo.delete(blob(bytes));
    expect(await repo.exists(m.desc)).toBe(false);
    expect(await repo.exists(blob(bytes))).toBe(false);
    await expect(repo.delete(blob(bytes))).rejects.toBeInstanceOf(NotFoundError);
  });

  it("says clearly when the registry does not allow deletion", async () => {
    const repo = new RemoteRepository({ registry: noDelete.host, repository: "del/app" });
    await repo.push(EMPTY_DESC, EMPTY);
    const m = manifestFor([]);
    await repo.push(m.desc, m.bytes);
    const err = await repo.delete(m.desc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toContain(`${noDelete.host} does not allow delete of manifest del/app@${m.desc.digest}`);
    expect(await repo.exists(m.desc)).toBe(true);
  });
});

describe("RemoteRegistry", () => {
  it("pings a registry and hands out repositories that share its client", async () => {
    const reg = new RemoteRegistry(registry.host);
    await reg.ping();
    const a = reg.repository("share/a");
    const b = reg.repository("share/b");
    expect(a.client).toBe(b.client);
    expect(a.name).toBe(`${registry.host}/share/a`);
  });

  it("reports an unreachable registry as a NetworkError naming the host", async () => {
    const port = await freePort();
    const reg = new RemoteRegistry(`127.0.0.1:${port}`, { retry: { maxAttempts: 1 } });
    const err = await reg.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toBe(`cannot reach 127.0.0.1:${port}: connection refused`);
  });
});
