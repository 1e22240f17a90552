/**
 * kit load: a bundle into the local store or a registry, all of it verified
 * before anything is written (verify.ts), then written in a second read of
 * the file (load-store.ts, load-registry.ts). The bundle is read as a
 * stream both times; nothing is extracted.
 */
import { formatMirrorLocation, InvalidContentError, type MirrorLocation, parseMirrorLocation } from "../../oras/content.js";
import type { RemoteOptions } from "../../oras/remote/index.js";
import { withDefaultCredentials } from "../remote-defaults.js";
import type { KitStore } from "../store.js";
import type { BundleCompression } from "./compression.js";
import { nameRoots, originalName, parseOriginRepository } from "./load-names.js";
import { type LoadedRoot, loadIntoRegistry, type LoadStats } from "./load-registry.js";
import { loadIntoStore } from "./load-store.js";
import { openBundleFile } from "./open.js";
import type { BundleProgress } from "./progress.js";
import type { BundleEntryKind } from "./format.js";
import { verifyBundle } from "./verify.js";

export interface LoadBundleOptions {
  /** A registry to load into, HOST[:PORT][/PREFIX] (each repository keeps its path under PREFIX); default: the local store. */
  to?: string | MirrorLocation;
  /** REGISTRY/REPO that entries named by a bare tag, or by nothing, came from (layouts of other tools). */
  repository?: string;
  /** The local store (when `to` is not given): a path or an open store; default $KIT_STORE. */
  store?: string | KitStore;
  remote?: RemoteOptions;
  /** Accept kits pushed with --no-pin. */
  allowUnpinned?: boolean;
  /** Load what is attached to the kits and images too (signatures, SBOMs, referrers). Default true. */
  referrers?: boolean;
  onProgress?: BundleProgress;
}

export interface LoadedEntry {
  kind: BundleEntryKind;
  /** The original reference, as the bundle names it. */
  reference: string;
  /** Where it is now: a registry reference, or the full reference the local store records it under. */
  destination: string;
  digest: string;
  /** Kits: the checked kit's name and version. */
  name?: string;
  version?: string;
}

export interface LoadBundleResult {
  bundle: string;
  compression: BundleCompression;
  /** `HOST[/PREFIX]`, or the local store's path. */
  destination: string;
  entries: LoadedEntry[];
  stats: LoadStats;
}

export async function loadBundle(path: string, opts: LoadBundleOptions = {}): Promise<LoadBundleResult> {
  // Flags first: a usage error must not wait for a long verification.
  const location = opts.to === undefined ? undefined : typeof opts.to === "string" ? parseMirrorLocation(opts.to) : opts.to;
  const repository = opts.repository === undefined ? undefined : parseOriginRepository(opts.repository);
  const file = await openBundleFile(path, "kit load");
  const verified = await verifyBundle(file, { ...(opts.allowUnpinned ? { allowUnpinned: true } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  const named = nameRoots(verified, repository, { referrers: opts.referrers ?? true });
  if (named.length === 0) throw new InvalidContentError(`${file.where} holds nothing to load: its index.json lists no entry`);
  const progress = opts.onProgress ? { onProgress: opts.onProgress } : {};
  let loaded: { roots: LoadedRoot[]; stats: LoadStats; destination: string };
  if (location !== undefined) {
    const result = await loadIntoRegistry(verified, named, location, { remote: withDefaultCredentials(opts.remote), ...progress });
    loaded = { ...result, destination: formatMirrorLocation(location) };
  } else {
    const result = await loadIntoStore(verified, named, { ...(opts.store !== undefined ? { store: opts.store } : {}), ...progress });
    loaded = { ...result, destination: result.store };
  }
  return {
    bundle: path,
    compression: file.compression,
    destination: loaded.destination,
    entries: loaded.roots.map(({ named: n, destination }) => ({
      kind: n.kind,
      reference: originalName(n),
      destination,
      digest: n.root.descriptor.digest,
      ...(n.root.content ? { name: n.root.content.kit.name, version: n.root.content.kit.version } : {}),
    })),
    stats: loaded.stats,
  };
}
