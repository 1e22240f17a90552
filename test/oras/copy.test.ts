import { describe, expect, it } from "vitest";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { copy, copyGraph, executeCopy, planCopy, type CopyDestination, type CopyPlan, type CopyProgressEvent } from "../../src/oras/copy/index.js";
import { MediaType } from "../../src/oras/descriptor.js";
import { DigestMismatchError, InvalidContentError, IoError, NotFoundError, RegistryError, SizeLimitError, UsageError } from "../../src/oras/errors.js";
import { MemoryStore } from "../../src/oras/memory.js";
import {
  barrier,
  config,
  content,
  imageIndex,
  imageManifest,
  layer,
  lyingSource,
  observed,
  readAll,
  Recorder,
  storeWith,
  twoPlatformIndex,
} from "./copy-fixtures.js";

/** Every node's children appear before it. */
function expectPostOrder(plan: CopyPlan): void {
  const position = new Map(plan.nodes.map((n, i) => [n.descriptor.digest, i]));
  for (const [i, node] of plan.nodes.entries()) {
    for (const child of node.children) expect(position.get(child)).toBeLessThan(i);
  }
  expect(plan.nodes.at(-1)!.descriptor.digest).toBe(plan.root.digest);
}

async function bytesOf(store: MemoryStore, digest: string, size: number, mediaType = "x"): Promise<Buffer> {
  return readAll(await store.fetch({ mediaType, digest, size }));
}

describe("planCopy", () => {
  it("plans one node per unique digest, children first, all uploads into an empty destination", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const plan = await planCopy(src, new MemoryStore("dst"), g.index.desc);

    const digests = plan.nodes.map((n) => n.descriptor.digest);
    expect(digests).toHaveLength(8); // the shared layer once, though two manifests list it
    expect(new Set(digests)).toEqual(new Set(g.all.map((c) => c.desc.digest)));
    expectPostOrder(plan);
    expect(plan.nodes.every((n) => n.action === "upload")).toBe(true);
    const kinds = Object.fromEntries(plan.nodes.map((n) => [n.descriptor.digest, n.kind]));
    expect(kinds[g.index.desc.digest]).toBe("manifest");
    expect(kinds[g.amd.desc.digest]).toBe("manifest");
    expect(kinds[g.shared.desc.digest]).toBe("blob");
    const sum = g.all.reduce((s, c) => s + c.desc.size, 0);
    expect(plan.totalBytes).toBe(sum);
    expect(plan.bytesToTransfer).toBe(sum);
    // Children in document order: the amd64 manifest's config, then its layers.
    const amd = plan.nodes.find((n) => n.descriptor.digest === g.amd.desc.digest)!;
    expect(amd.children).toEqual([g.amdConfig.desc.digest, g.shared.desc.digest, g.amdOnly.desc.digest]);
  });

  it("is plain data that survives a JSON round trip", async () => {
    const g = twoPlatformIndex();
    const plan = await planCopy(await storeWith("src", ...g.all), new MemoryStore("dst"), g.index.desc);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it("descends into a manifest the destination already has and plans exactly the missing layer (partial mirror)", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const dst = await storeWith("dst", ...g.all.filter((c) => c !== g.amdOnly));
    const plan = await planCopy(src, dst, g.index.desc);

    const upload = plan.nodes.filter((n) => n.action === "upload").map((n) => n.descriptor.digest);
    expect(upload).toEqual([g.amdOnly.desc.digest]);
    expect(plan.bytesToTransfer).toBe(g.amdOnly.desc.size);
    const index = plan.nodes.find((n) => n.descriptor.digest === g.index.desc.digest)!;
    expect(index).toMatchObject({ action: "skip", reason: "exists" });
  });

  it("plans uploads for everything under the one manifest a mirror lacks", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    // The mirror has the index and the amd64 image only.
    const dst = await storeWith("dst", g.index, g.amd, g.amdConfig, g.shared, g.amdOnly);
    const plan = await planCopy(src, dst, g.index.desc);
    const upload = new Set(plan.nodes.filter((n) => n.action === "upload").map((n) => n.descriptor.digest));
    expect(upload).toEqual(new Set([g.arm.desc.digest, g.armConfig.desc.digest, g.armOnly.desc.digest]));
  });

  it("rejects a garbage manifest with InvalidContentError naming its digest", async () => {
    const garbage = content(MediaType.ImageManifest, "this is not a manifest");
    const src = await storeWith("src", garbage);
    const err = await planCopy(src, new MemoryStore("dst"), garbage.desc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidContentError);
    expect((err as Error).message).toContain(garbage.desc.digest);
  });

  it("rejects a graph that gives one digest two sizes", async () => {
    const l = layer("l");
    const cfg = config("c");
    const m = content(
      MediaType.ImageManifest,
      JSON.stringify({ schemaVersion: 2, config: cfg.desc, layers: [l.desc, { ...l.desc, size: l.desc.size + 1 }] }),
    );
    const src = await storeWith("src", l, cfg, m);
    await expect(planCopy(src, new MemoryStore("dst"), m.desc)).rejects.toBeInstanceOf(InvalidContentError);
  });

  it("refuses graphs larger than maxNodes, saying the limit counts nodes", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const planned = planCopy(src, new MemoryStore("dst"), g.index.desc, { maxNodes: 5 });
    await expect(planned).rejects.toBeInstanceOf(SizeLimitError);
    await expect(planned).rejects.toThrow(new RegExp(`^the graph under ${g.index.desc.digest} exceeds the limit of 5 nodes$`));
  });

  it("skips non-distributable layers unless asked, and copies a layer with urls only when the source has it", async () => {
    const cfg = config("c");
    const foreign = content("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "windows base");
    const withUrlsPresent = { ...layer("mirrored"), desc: { ...layer("mirrored").desc, urls: ["https://example.com/a"] } };
    const withUrlsAbsent = { ...layer("elsewhere"), desc: { ...layer("elsewhere").desc, urls: ["https://example.com/b"] } };
    const m = imageManifest(cfg, [foreign, withUrlsPresent, withUrlsAbsent]);
    const src = await storeWith("src", cfg, withUrlsPresent, m); // neither the foreign layer nor withUrlsAbsent

    const plan = await planCopy(src, new MemoryStore("dst"), m.desc);
    const action = (d: string) => plan.nodes.find((n) => n.descriptor.digest === d)!;
    expect(action(foreign.desc.digest)).toMatchObject({ action: "skip", reason: "foreign" });
    expect(action(withUrlsAbsent.desc.digest)).toMatchObject({ action: "skip", reason: "foreign" });
    expect(action(withUrlsPresent.desc.digest).action).toBe("upload");

    const dst = new MemoryStore("dst");
    await copyGraph(src, dst, m.desc);
    expect(await dst.exists(m.desc)).toBe(true);
    expect(await dst.exists(foreign.desc)).toBe(false);

    const forced = await planCopy(src, new MemoryStore("dst"), m.desc, { copyForeignLayers: true });
    expect(forced.nodes.find((n) => n.descriptor.digest === foreign.desc.digest)!.action).toBe("upload");
  });

  it("plans mounts only when the destination can mount and a source repository is given", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const rec = new Recorder();
    const mounter = observed(new MemoryStore("dst"), rec, { mountResult: true });

    const plan = await planCopy(src, mounter, g.index.desc, { mountFrom: "team/base", canMount: (d) => d.digest !== g.armOnly.desc.digest });
    expect(plan.mountFrom).toBe("team/base");
    const byDigest = new Map(plan.nodes.map((n) => [n.descriptor.digest, n.action]));
    expect(byDigest.get(g.shared.desc.digest)).toBe("mount");
    expect(byDigest.get(g.armOnly.desc.digest)).toBe("upload");
    expect(byDigest.get(g.amd.desc.digest)).toBe("upload"); // manifests are never mounted
    expect(plan.bytesToTransfer).toBe([g.armOnly, g.amd, g.arm, g.index].reduce((s, c) => s + c.desc.size, 0));

    const noMounter = await planCopy(src, new MemoryStore("dst"), g.index.desc, { mountFrom: "team/base" });
    expect(noMounter.nodes.every((n) => n.action !== "mount")).toBe(true);
    expect(noMounter.mountFrom).toBeUndefined();
  });

  it("mounts each blob from the repository a mountFrom function names for it, and executes those mounts", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const rec = new Recorder();
    for (const c of g.all) rec.mountable.set(c.desc.digest, c.bytes);
    const store = new MemoryStore("dst");
    const dst = observed(store, rec, { mountResult: true });
    const from = (d: { digest: string }) => (d.digest === g.shared.desc.digest ? "team/one" : d.digest === g.amdOnly.desc.digest ? "team/two" : undefined);

    const plan = await planCopy(src, dst, g.index.desc, { mountFrom: from, canMount: (d) => d.digest !== g.amdOnly.desc.digest });
    expect(plan.mountFrom).toBeUndefined();
    const mounted = plan.nodes.filter((n) => n.action === "mount").map((n) => [n.descriptor.digest, n.mountFrom]);
    expect(mounted).toEqual([[g.shared.desc.digest, "team/one"]]); // amdOnly has a source, but canMount says no
    expect(plan.nodes.filter((n) => n.mountFrom !== undefined)).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);

    const stats = await executeCopy(src, dst, plan);
    expect(rec.mounted).toEqual([`team/one@${g.shared.desc.digest}`]);
    expect(stats).toMatchObject({ mounted: 1, uploaded: 7 });
    expect(new Set(store.digests())).toEqual(new Set(g.all.map((c) => c.desc.digest)));
  });
});

describe("executeCopy / copy", () => {
  it("copies a two-platform index into an empty destination byte for byte, and tags it", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    await src.tag(g.index.desc, "v1");
    const dst = new MemoryStore("dst");

    const result = await copy(src, "v1", dst, "stable");
    expect(result.root.digest).toBe(g.index.desc.digest);
    expect(result.stats).toEqual({ uploaded: 8, mounted: 0, skipped: 0, bytesTransferred: result.plan.totalBytes, retries: 0, resumes: 0 });
    for (const c of g.all) expect(await bytesOf(dst, c.desc.digest, c.desc.size)).toEqual(c.bytes);
    expect((await dst.resolve("stable")).digest).toBe(g.index.desc.digest);
  });

  it("pushes nothing the second time: every node is skipped", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const dst = new MemoryStore("dst");
    await copyGraph(src, dst, g.index.desc);

    const rec = new Recorder();
    const events: CopyProgressEvent[] = [];
    const again = await copyGraph(src, observed(dst, rec), g.index.desc, { onProgress: (e) => events.push(e) });
    expect(again.plan.nodes.every((n) => n.action === "skip")).toBe(true);
    expect(again.plan.bytesToTransfer).toBe(0);
    expect(again.stats).toEqual({ uploaded: 0, mounted: 0, skipped: 8, bytesTransferred: 0, retries: 0, resumes: 0 });
    expect(rec.pushed).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(Array(8).fill("skip"));
  });

  it("heals a partial mirror by uploading exactly the missing layer", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const dst = await storeWith("dst", ...g.all.filter((c) => c !== g.amdOnly));
    const rec = new Recorder();
    await copyGraph(src, observed(dst, rec), g.index.desc);
    expect(rec.pushed).toEqual([g.amdOnly.desc.digest]);
    expect(await bytesOf(dst, g.amdOnly.desc.digest, g.amdOnly.desc.size)).toEqual(g.amdOnly.bytes);
  });

  it("pushes children before parents and fetches each manifest only once (during planning)", async () => {
    const g = twoPlatformIndex();
    const srcRec = new Recorder();
    const src = observed(await storeWith("src", ...g.all), srcRec);
    const rec = new Recorder();
    await copyGraph(src, observed(new MemoryStore("dst"), rec), g.index.desc);

    const at = (c: { desc: { digest: string } }) => rec.pushed.indexOf(c.desc.digest);
    for (const [parent, children] of [
      [g.amd, [g.amdConfig, g.shared, g.amdOnly]],
      [g.arm, [g.armConfig, g.shared, g.armOnly]],
      [g.index, [g.amd, g.arm]],
    ] as const) {
      for (const child of children) expect(at(child)).toBeLessThan(at(parent));
    }
    for (const m of [g.index, g.amd, g.arm]) expect(srcRec.fetched.filter((d) => d === m.desc.digest)).toHaveLength(1);
    for (const l of [g.shared, g.amdOnly, g.armOnly]) expect(srcRec.fetched.filter((d) => d === l.desc.digest)).toHaveLength(1);
  });

  it("executes a plan that came back from JSON, re-fetching (and verifying) manifests", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const plan = JSON.parse(JSON.stringify(await planCopy(src, new MemoryStore("dst"), g.index.desc))) as CopyPlan;
    const dst = new MemoryStore("dst");
    await executeCopy(src, dst, plan);
    expect(new Set(dst.digests())).toEqual(new Set(g.all.map((c) => c.desc.digest)));
  });

  it("rejects a plan whose nodes are not children-first", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const plan = await planCopy(src, new MemoryStore("dst"), g.index.desc);
    const reversed: CopyPlan = { ...plan, nodes: [...plan.nodes].reverse() };
    const dst = new MemoryStore("dst");
    await expect(executeCopy(src, dst, reversed)).rejects.toBeInstanceOf(InvalidContentError);
    expect(dst.digests()).toEqual([]);
  });

  it.each([true, false])(
    "fails with DigestMismatchError on a corrupted source blob and stores nothing under it (verifySource %s)",
    async (verifySource) => {
      const g = twoPlatformIndex();
      const store = await storeWith("src", ...g.all);
      const wrong = Buffer.from(g.amdOnly.bytes);
      wrong[0] = wrong[0]! ^ 0xff;
      const src = lyingSource(store, g.amdOnly.desc.digest, wrong);
      const dst = new MemoryStore("dst");

      const err = await copyGraph(src, dst, g.index.desc, { verifySource }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect(await dst.exists(g.amdOnly.desc)).toBe(false);
      // Nothing that references the bad blob was pushed either.
      expect(await dst.exists(g.amd.desc)).toBe(false);
      expect(await dst.exists(g.index.desc)).toBe(false);
    },
  );

  it("says which side failed, keeping the error's class", async () => {
    const g = twoPlatformIndex();
    // The source lacks a blob its manifest names.
    const partial = await storeWith("src", ...g.all.filter((c) => c !== g.armOnly));
    const missing = await copyGraph(partial, new MemoryStore("dst"), g.index.desc).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as Error).message).toBe(`copy: reading from the source src: ${g.armOnly.desc.digest} not found in src`);

    // The source's own check fails while its bytes stream into the destination.
    const wrong = Buffer.from(g.amdOnly.bytes);
    wrong[0] = wrong[0]! ^ 0xff;
    const lying = lyingSource(await storeWith("src", ...g.all), g.amdOnly.desc.digest, wrong);
    const corrupt = await copyGraph(lying, new MemoryStore("dst"), g.index.desc).catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(DigestMismatchError);
    expect((corrupt as Error).message).toMatch(/^copy: reading from the source src \(lying about sha256:[0-9a-f]+\): digest mismatch/);

    // A destination that fails while reading a blob is not blamed on the source it was reading.
    const store = new MemoryStore("dst");
    const full: CopyDestination = {
      exists: (desc) => store.exists(desc),
      fetch: (desc, opts) => store.fetch(desc, opts),
      push: async (desc, body, opts) => {
        if (body instanceof Uint8Array) return store.push(desc, body, opts);
        const disk = new Writable({ write: (_chunk, _encoding, done) => done(new IoError("no space left on device")) });
        await pipeline(body, disk);
      },
    };
    Object.assign(full, { name: "oci:/full" });
    const refused = await copyGraph(await storeWith("src", ...g.all), full, g.index.desc).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IoError);
    expect((refused as Error).message).toBe("copy: writing to the destination oci:/full: no space left on device");
  });

  it("passes verifySource through to the source's fetch for blobs", async () => {
    const g = twoPlatformIndex();
    const srcRec = new Recorder();
    const src = observed(await storeWith("src", ...g.all), srcRec);
    await copyGraph(src, new MemoryStore("dst"), g.index.desc, { verifySource: false });
    const blobFetches = srcRec.fetched
      .map((d, i) => [d, srcRec.fetchOptions[i]] as const)
      .filter(([d]) => [g.shared, g.amdOnly, g.armOnly].some((c) => c.desc.digest === d));
    expect(blobFetches).toHaveLength(3);
    for (const [, opts] of blobFetches) expect(opts?.verify).toBe(false);
  });

  it("never has more than `concurrency` pushes in flight", async () => {
    const layers = Array.from({ length: 7 }, (_, i) => layer(`layer ${i}`));
    const cfg = config("c");
    const m = imageManifest(cfg, layers);
    const src = await storeWith("src", cfg, m, ...layers);
    const rec = new Recorder();
    // Hold the first two pushes until both have started: proves two really run at once, without timing.
    const bothStarted = barrier(2);
    const dst = observed(new MemoryStore("dst"), rec, { beforePush: () => bothStarted.arrive() });

    await copyGraph(src, dst, m.desc, { concurrency: 2 });
    expect(rec.maxActive).toBe(2);
    expect(rec.pushed).toHaveLength(9);
  });

  it("aborts the other transfers on the first failure and throws that failure", async () => {
    const layers = Array.from({ length: 5 }, (_, i) => layer(`layer ${i}`));
    const cfg = config("c");
    const m = imageManifest(cfg, layers);
    const src = await storeWith("src", cfg, m, ...layers);
    const rec = new Recorder();
    const failing = layers[0]!.desc.digest;
    const threeStarted = barrier(3);
    let abortedWhileInFlight = 0;
    const dst = observed(new MemoryStore("dst"), rec, {
      beforePush: async (desc, signal) => {
        await threeStarted.arrive();
        if (desc.digest === failing) throw new RegistryError("upload refused", 500);
        // The others hang until the copy aborts them.
        await new Promise<void>((_, reject) => {
          if (signal?.aborted) reject(signal.reason);
          signal?.addEventListener("abort", () => {
            abortedWhileInFlight++;
            reject(signal.reason);
          });
        });
      },
    });

    // Post-order starts the config, layer 0 and layer 1 first; layer 0 fails once all three are in flight.
    const err = await copyGraph(src, dst, m.desc, { concurrency: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    // The destination failed, and the message says so (class and code unchanged).
    expect((err as Error).message).toBe("copy: writing to the destination dst: upload refused");
    expect(abortedWhileInFlight).toBe(2);
    expect(rec.active).toBe(0); // every push had finished before copy returned
    expect(rec.pushed).toEqual([]);
    expect(await dst.exists(m.desc)).toBe(false);
  });

  it("stops when the caller's signal aborts", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const controller = new AbortController();
    const reason = new UsageError("cancelled by the user");
    controller.abort(reason);
    await expect(copyGraph(src, new MemoryStore("dst"), g.index.desc, { signal: controller.signal })).rejects.toBe(reason);
  });

  it("mounts planned blobs and uploads when the registry declines a mount", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);

    const rec = new Recorder();
    for (const c of g.all) rec.mountable.set(c.desc.digest, c.bytes);
    const store = new MemoryStore("dst");
    const accepted = await copyGraph(src, observed(store, rec, { mountResult: true }), g.index.desc, { mountFrom: "team/base" });
    expect(accepted.stats).toMatchObject({ mounted: 5, uploaded: 3 });
    expect(rec.pushed.sort()).toEqual([g.index, g.amd, g.arm].map((c) => c.desc.digest).sort());
    expect(new Set(store.digests())).toEqual(new Set(g.all.map((c) => c.desc.digest)));

    const rec2 = new Recorder();
    const declined = await copyGraph(src, observed(new MemoryStore("dst"), rec2, { mountResult: false }), g.index.desc, {
      mountFrom: "team/base",
    });
    expect(rec2.mounted).toHaveLength(5);
    expect(declined.stats).toMatchObject({ mounted: 0, uploaded: 8 });
  });

  it("reports progress: start and done per transfer, bytes for blobs, and the tag", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const events: CopyProgressEvent[] = [];
    await executeCopy(src, new MemoryStore("dst"), await planCopy(src, new MemoryStore("dst"), g.index.desc), {
      tag: "v1",
      onProgress: (e) => events.push(e),
    });
    expect(events.filter((e) => e.type === "start")).toHaveLength(8);
    expect(events.filter((e) => e.type === "done")).toHaveLength(8);
    const lastBytes = events.filter((e) => e.type === "bytes" && e.node.descriptor.digest === g.shared.desc.digest).at(-1);
    expect(lastBytes).toMatchObject({ transferred: g.shared.desc.size });
    expect(events.at(-1)).toEqual({ type: "tag", descriptor: g.index.desc, tag: "v1" });
  });

  it("tells onPlan the plan once, before any progress event, so totals are known up front", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    const heard: string[] = [];
    let planned: CopyPlan | undefined;
    const result = await copyGraph(src, new MemoryStore("dst"), g.index.desc, {
      onPlan: (plan) => {
        planned = plan;
        heard.push("plan");
      },
      onProgress: (e) => heard.push(e.type),
    });
    expect(planned).toBe(result.plan);
    expect(heard.filter((h) => h === "plan")).toHaveLength(1);
    expect(heard[0]).toBe("plan");
    expect(heard.length).toBeGreaterThan(1);
  });

  it("does not call onPlan on a dry run: nothing is transferred", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    let called = false;
    await copyGraph(src, new MemoryStore("dst"), g.index.desc, { dryRun: true, onPlan: () => (called = true) });
    expect(called).toBe(false);
  });
});

describe("copy references", () => {
  it("tags with the source tag when no destination reference is given", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    await src.tag(g.index.desc, "1.2.3");
    const dst = new MemoryStore("dst");
    await copy(src, "1.2.3", dst);
    expect((await dst.resolve("1.2.3")).digest).toBe(g.index.desc.digest);
  });

  it("pushes the root with its tag in one step when the destination can, else pushes then tags", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    await src.tag(g.index.desc, "v1");

    const rec = new Recorder();
    await copy(src, "v1", observed(new MemoryStore("dst"), rec, { pushReference: true }), "v2");
    expect(rec.tagged).toEqual([[g.index.desc.digest, "v2"]]);
    expect(rec.pushed.at(-1)).toBe(g.index.desc.digest);

    const rec2 = new Recorder();
    const dst2 = new MemoryStore("dst");
    await copy(src, "v1", observed(dst2, rec2), "v2");
    expect(rec2.pushed.at(-1)).toBe(g.index.desc.digest);
    expect(rec2.tagged).toEqual([[g.index.desc.digest, "v2"]]);
    expect((await dst2.resolve("v2")).digest).toBe(g.index.desc.digest);
  });

  it("tags a root the destination already had", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    await src.tag(g.index.desc, "v1");
    const dst = await storeWith("dst", ...g.all);
    const result = await copy(src, "v1", dst, "v1");
    expect(result.stats?.uploaded).toBe(0);
    expect((await dst.resolve("v1")).digest).toBe(g.index.desc.digest);
  });

  it("accepts the root's own digest as destination reference and refuses another digest", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    await src.tag(g.index.desc, "v1");
    const dst = new MemoryStore("dst");
    await copy(src, "v1", dst, g.index.desc.digest);
    expect(await dst.exists(g.index.desc)).toBe(true);
    await expect(copy(src, "v1", new MemoryStore("dst"), g.amd.desc.digest)).rejects.toBeInstanceOf(UsageError);
  });

  it("writes nothing on a dry run", async () => {
    const g = twoPlatformIndex();
    const src = await storeWith("src", ...g.all);
    await src.tag(g.index.desc, "v1");
    const dst = new MemoryStore("dst");
    const result = await copy(src, "v1", dst, "v1", { dryRun: true });
    expect(result.stats).toBeUndefined();
    expect(result.plan.nodes).toHaveLength(8);
    expect(dst.digests()).toEqual([]);
  });

  it("copies a nested index (index of indexes) and a lone blob root", async () => {
    const g = twoPlatformIndex();
    const outer = imageIndex([g.index]);
    const src = await storeWith("src", ...g.all, outer);
    const dst = new MemoryStore("dst");
    const { plan } = await copyGraph(src, dst, outer.desc);
    expectPostOrder(plan);
    expect(plan.nodes).toHaveLength(9);
    expect(new Set(dst.digests())).toEqual(new Set([...g.all, outer].map((c) => c.desc.digest)));

    const lone = await copyGraph(src, new MemoryStore("dst"), g.shared.desc);
    expect(lone.plan.nodes).toEqual([{ descriptor: g.shared.desc, kind: "blob", action: "upload", children: [] }]);
  });
});
