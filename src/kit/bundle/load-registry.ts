/**
 * Load's second read, into a registry: every entry goes to its original
 * repository's path under the mirror location (`--to HOST[/PREFIX]`, the
 * mapping kit mirror uses). A blob is uploaded once, streamed from the tar
 * (the registry checks it against `?digest=`), to the first repository
 * that needs it, and mounted into the others (copied from there when a
 * registry declines the mount). Manifests follow, children first, from the
 * bytes the first read verified; a tag is set only with its manifest, last.
 */
import { type Descriptor, InvalidContentError, type MirrorLocation, mirroredReference, OciError, formatReference, withContext } from "../../oras/content.js";
import { RemoteRegistry, type RemoteOptions, type RemoteRepository } from "../../oras/remote/index.js";
import { type NamedRoot, originalName } from "./load-names.js";
import { bundleTarStream } from "./open.js";
import { type BundleProgress, withProgress } from "./progress.js";
import { readTar } from "./tar-read.js";
import type { VerifiedBundle } from "./verify.js";
import type { Readable } from "node:stream";

export interface LoadStats {
  /** Blobs and manifests sent. */
  uploaded: number;
  /** Blobs mounted from another repository of the destination. */
  mounted: number;
  /** Blobs and manifests the destination already held. */
  skipped: number;
  /** Bytes sent. */
  bytes: number;
}

export interface LoadedRoot {
  named: NamedRoot;
  /** Where it is now: `REGISTRY/REPO:TAG` (or `@DIGEST`), or the reference the store records it under. */
  destination: string;
}

interface Repo {
  target: RemoteRepository;
  roots: NamedRoot[];
}

export async function loadIntoRegistry(
  bundle: VerifiedBundle,
  named: readonly NamedRoot[],
  location: MirrorLocation,
  opts: { remote?: RemoteOptions; onProgress?: BundleProgress },
): Promise<{ roots: LoadedRoot[]; stats: LoadStats }> {
  const registry = new RemoteRegistry(location.registry, opts.remote ?? {});
  const repos = new Map<string, Repo>();
  const roots: LoadedRoot[] = [];
  for (const n of named) {
    const dest = mirroredReference(n.original, location);
    const repo = repos.get(dest.repository) ?? { target: registry.repository(dest.repository), roots: [] };
    repo.roots.push(n);
    repos.set(dest.repository, repo);
    roots.push({ named: n, destination: formatReference(dest.tag !== undefined ? { ...dest, digest: undefined } : { ...dest, digest: n.root.descriptor.digest }) });
  }
  // Which repositories each blob goes to, in the order they were named.
  const needs = new Map<string, { descriptor: Descriptor; repos: Repo[] }>();
  for (const repo of repos.values()) {
    for (const n of repo.roots) {
      for (const node of n.root.nodes) {
        if (node.kind !== "blob") continue;
        const need = needs.get(node.descriptor.digest) ?? { descriptor: node.descriptor, repos: [] };
        if (!need.repos.includes(repo)) need.repos.push(repo);
        needs.set(node.descriptor.digest, need);
      }
    }
  }
  const stats: LoadStats = { uploaded: 0, mounted: 0, skipped: 0, bytes: 0 };
  const emit = opts.onProgress;
  emit?.({ type: "phase", phase: "load", blobs: needs.size, bytes: [...needs.values()].reduce((sum, n) => sum + n.descriptor.size, 0) });

  const done = new Set<string>();
  await readTar(bundleTarStream(bundle.file), bundle.file.where, async (entry) => {
    if (entry.layout.kind !== "blob") return;
    const need = needs.get(entry.layout.digest);
    if (need === undefined || done.has(entry.layout.digest)) return;
    done.add(entry.layout.digest);
    await inContext(`bundle entry ${JSON.stringify(entry.path)}`, () => deliver(need.descriptor, need.repos, entry.body, stats, emit));
  });
  for (const digest of needs.keys()) {
    if (!done.has(digest)) {
      throw new InvalidContentError(`${bundle.file.where} changed after it was verified: ${digest} is no longer in it`, { hint: "load it again; nothing was tagged" });
    }
  }
  for (const repo of repos.values()) await pushManifests(bundle, repo, stats);
  return { roots, stats };
}

/** Get one blob into every repository that needs it: upload once from the tar, then mount. */
async function deliver(desc: Descriptor, repos: readonly Repo[], body: Readable, stats: LoadStats, emit: BundleProgress | undefined): Promise<void> {
  let holder: RemoteRepository | undefined;
  const missing: RemoteRepository[] = [];
  for (const { target } of repos) {
    if (await target.exists(desc)) {
      holder ??= target;
      stats.skipped++;
      emit?.({ type: "skip", phase: "load", descriptor: desc, reason: "exists" });
    } else {
      missing.push(target);
    }
  }
  if (missing.length === 0) return;
  if (holder === undefined) {
    holder = missing.shift()!;
    emit?.({ type: "start", phase: "load", descriptor: desc });
    await holder.push(desc, withProgress(body, emit, "load", desc));
    stats.uploaded++;
    stats.bytes += desc.size;
    emit?.({ type: "done", phase: "load", descriptor: desc, via: "upload" });
  }
  for (const target of missing) {
    emit?.({ type: "start", phase: "load", descriptor: desc });
    if (await target.mount(desc, holder.repository)) {
      stats.mounted++;
      emit?.({ type: "done", phase: "load", descriptor: desc, via: "mount" });
      continue;
    }
    // The registry declined the mount: copy it over from where it now is (verified by ?digest= again).
    await target.push(desc, await holder.fetch(desc, { verify: false }));
    stats.uploaded++;
    stats.bytes += desc.size;
    emit?.({ type: "done", phase: "load", descriptor: desc, via: "upload" });
  }
}

/** Each root's manifests, children first; the root last, under its tag when it has one. */
async function pushManifests(bundle: VerifiedBundle, repo: Repo, stats: LoadStats): Promise<void> {
  const pushed = new Set<string>();
  for (const n of repo.roots) {
    const rootDigest = n.root.descriptor.digest;
    for (const node of n.root.nodes) {
      if (node.kind !== "manifest") continue;
      const desc = node.descriptor;
      const bytes = bundle.manifests.get(desc.digest)!;
      const tag = desc.digest === rootDigest ? n.original.tag : undefined;
      if (tag === undefined && pushed.has(desc.digest)) continue;
      await inContext(`${originalName(n)}: manifest ${desc.digest}`, async () => {
        if (tag === undefined && (await repo.target.exists(desc))) {
          stats.skipped++;
        } else {
          await repo.target.pushManifest(desc, bytes, tag !== undefined ? { tag } : {});
          stats.uploaded++;
          stats.bytes += bytes.length;
        }
      });
      pushed.add(desc.digest);
    }
  }
}

/** `op`, its failure saying what of the bundle was being loaded. */
export async function inContext<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw err instanceof OciError ? withContext(err, `loading ${what}`) : err;
  }
}
