/**
 * Load's second read, into the local store: under one hold of the store
 * lock, the images' blobs stream from the tar into the store's layout
 * (hashed again on the way in), then their manifests (children first) and
 * entries under their original references; each kit is recorded as kit pull
 * records it, from the bytes the first read checked. So
 * `kit pull NAME@sha256:…` is served offline afterwards, and `kit gc` keeps
 * the images (their entries are roots) while `kit ls` lists only the kits.
 */
import { type Descriptor, InvalidContentError } from "../../oras/content.js";
import { KitStore } from "../store.js";
import { recordedReference } from "../store-reference.js";
import { inContext as into, type LoadedRoot, type LoadStats } from "./load-registry.js";
import type { NamedRoot } from "./load-names.js";
import { bundleTarStream } from "./open.js";
import { type BundleProgress, withProgress } from "./progress.js";
import { readTar } from "./tar-read.js";
import type { VerifiedBundle } from "./verify.js";

export async function loadIntoStore(
  bundle: VerifiedBundle,
  named: readonly NamedRoot[],
  opts: { store?: string | KitStore; onProgress?: BundleProgress },
): Promise<{ roots: LoadedRoot[]; stats: LoadStats; store: string }> {
  // Base images and attachments alike: content recorded under its original reference, not a kit.
  const images = named.filter((n) => n.kind !== "kit");
  const kits = named.filter((n) => n.kind === "kit");
  // Kits are written from the bytes the check read; only the images' blobs come from the tar again.
  const needs = new Map<string, Descriptor>();
  for (const n of images) for (const node of n.root.nodes) if (node.kind === "blob") needs.set(node.descriptor.digest, node.descriptor);
  const stats: LoadStats = { uploaded: 0, mounted: 0, skipped: 0, bytes: 0 };
  const emit = opts.onProgress;
  emit?.({ type: "phase", phase: "load", blobs: needs.size, bytes: [...needs.values()].reduce((sum, d) => sum + d.size, 0) });
  // Created only now: a bundle refused by the check leaves no store behind.
  const store = opts.store instanceof KitStore ? opts.store : await KitStore.open(opts.store);
  const roots: LoadedRoot[] = named.map((n) => ({ named: n, destination: recordedReference(n.original, n.root.descriptor.digest) }));
  await store.write(async (writer) => {
    const done = new Set<string>();
    if (needs.size > 0) {
      await readTar(bundleTarStream(bundle.file), bundle.file.where, async (entry) => {
        if (entry.layout.kind !== "blob") return;
        const desc = needs.get(entry.layout.digest);
        if (desc === undefined || done.has(desc.digest)) return;
        done.add(desc.digest);
        if (await writer.layout.exists(desc)) {
          stats.skipped++;
          emit?.({ type: "skip", phase: "load", descriptor: desc, reason: "exists" });
          return;
        }
        emit?.({ type: "start", phase: "load", descriptor: desc });
        await into(`bundle entry ${JSON.stringify(entry.path)}`, () => writer.layout.push(desc, withProgress(entry.body, emit, "load", desc)));
        stats.uploaded++;
        stats.bytes += desc.size;
        emit?.({ type: "done", phase: "load", descriptor: desc });
      });
    }
    for (const digest of needs.keys()) {
      if (!done.has(digest)) throw new InvalidContentError(`${bundle.file.where} changed after it was verified: ${digest} is no longer in it`, { hint: "load it again" });
    }
    const count = async (desc: Descriptor): Promise<void> => {
      if (await writer.layout.exists(desc)) {
        stats.skipped++;
      } else {
        stats.uploaded++;
        stats.bytes += desc.size;
      }
    };
    for (const n of images) {
      for (const node of n.root.nodes) {
        if (node.kind !== "manifest") continue;
        await count(node.descriptor);
        await writer.layout.push(node.descriptor, bundle.manifests.get(node.descriptor.digest)!);
      }
      await writer.addImage(n.root.descriptor, n.original, n.kind === "attachment" ? "attachment" : "image");
    }
    for (const n of kits) {
      const content = n.root.content!;
      for (const part of [content.descriptor, content.config.descriptor, ...content.layers.map((l) => l.descriptor)]) await count(part);
      await writer.addKit({ manifest: { descriptor: content.descriptor, bytes: content.manifest }, config: content.config, layers: content.layers }, content.kit, [n.original]);
    }
  });
  return { roots, stats, store: store.path };
}
