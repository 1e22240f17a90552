/**
 * Pulling a kit: fetch, verify every byte, check every artifact rule, and
 * only then record it in the local store (and write files when asked).
 * Store references (`famiglia@sha256:…`) are served from the store alone,
 * without loading the registry client (pull-fetch.ts).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { formatReference, IoError, type MirrorPolicies, NotFoundError, writeFilesAtomic } from "../oras/content.js";
import type { CopyProgressOptions } from "../oras/copy/index.js";
import type { OpenedTarget } from "../oras/index.js";
import type { RemoteOptions } from "../oras/remote/index.js";
import type { KitConfig } from "./artifact.js";
import { KIT_YAML_TITLE, README_TITLE } from "./format.js";
import type { KitContent } from "./read-kit.js";
import { toKitReference, type KitReference } from "./reference.js";
import { KitStore } from "./store.js";
import { recordedRepository } from "./store-reference.js";

/** onPlan and onProgress hear the kit's blobs being fetched (not a pull served from the local store). */
export interface PullOptions extends CopyProgressOptions {
  /** Write kit.yaml (its image pinned, as the kit runs it) and README.md into this directory. */
  output?: string;
  /** Replace existing files in `output`. */
  force?: boolean;
  /** Accept a kit pushed with --no-pin. */
  allowUnpinned?: boolean;
  remote?: RemoteOptions;
  /** Mirrors to pull registry references through (loadKitSettings reads them from the config file); none by default. */
  mirrors?: MirrorPolicies;
  /** Path of the local store or an open one. Default: $KIT_STORE or ~/.aegis/kits/store. */
  store?: string | KitStore;
}

/** What `kit pull --json` prints and aegisd consumes. */
export interface ResolvedKit {
  /** `REGISTRY/REPO@sha256:…` of the manifest. */
  reference: string;
  digest: string;
  /** The validated kit config. */
  kit: KitConfig;
  /** The pinned base image `REGISTRY/REPO:TAG@sha256:…` (as written when the kit is unpinned). */
  image: string;
  /**
   * The repository the kit was fetched from: the reference's own, or the
   * mirror's that served it (`reference` keeps the original name either
   * way); `oci:PATH` for a layout. A kit the local store served without
   * fetching names the repository it is recorded under, as `reference` does.
   */
  endpoint: string;
}

export interface PullResult extends ResolvedKit {
  /** Files written with `output`. */
  files: string[];
}

/** Fetch, verify and store a kit; the same document `kit pull --json` prints. */
export async function resolveKit(reference: string | KitReference, opts: Omit<PullOptions, "output" | "force"> = {}): Promise<ResolvedKit> {
  const { files: _files, ...resolved } = await pullKit(reference, opts);
  return resolved;
}

export async function pullKit(reference: string | KitReference, opts: PullOptions = {}): Promise<PullResult> {
  const ref = toKitReference(reference);
  const allowUnpinned = opts.allowUnpinned ?? false;
  let base: string;
  let fetched: KitContent;
  let endpoint: string | undefined;
  if (ref.kind === "store") {
    const store = await KitStore.openToFind(ref, opts.store);
    const entry = await store.findOne(ref);
    fetched = (await store.read(entry.digest, { allowUnpinned })).content;
    base = recordedRepository(entry);
  } else {
    // The store is created only when a kit is recorded in it: a failed pull leaves no trace.
    const existing = opts.store instanceof KitStore ? opts.store : await KitStore.openIfExists(opts.store);
    const byDigest = ref.digest !== undefined && ref.tag === undefined;
    const cached = byDigest && ref.digest !== undefined && existing !== undefined ? await fromStoreByDigest(existing, ref.digest, allowUnpinned) : undefined;
    if (cached !== undefined) fetched = cached;
    else ({ content: fetched, endpoint } = await fetchKitThrough(ref, opts));
    base = formatReference({ ...ref, tag: undefined, digest: undefined });
    if (ref.kind === "registry") {
      // Recorded only now, after every check passed, under the name asked for (never a mirror's): a refused kit leaves nothing in the store.
      const named = byDigest ? ref : { ...ref, digest: undefined };
      const store = existing ?? (await KitStore.open(opts.store instanceof KitStore ? undefined : opts.store));
      await store.add({ manifest: { descriptor: fetched.descriptor, bytes: fetched.manifest }, config: fetched.config, layers: fetched.layers }, fetched.kit, [named]);
    }
  }
  const files = opts.output === undefined ? [] : await writeKitFiles(opts.output, fetched, opts.force ?? false);
  return { reference: `${base}@${fetched.descriptor.digest}`, digest: fetched.descriptor.digest, kit: fetched.kit, image: fetched.kit.image, endpoint: endpoint ?? base, files };
}

/** Fetch and check a kit from a layout, or from a registry through its mirrors; `endpoint` names the repository that served. */
async function fetchKitThrough(ref: Exclude<KitReference, { kind: "store" }>, opts: PullOptions): Promise<{ content: KitContent; endpoint: string }> {
  const { fetchKitFrom } = await import("./pull-fetch.js");
  return fetchKitFrom(ref, opts);
}

async function fromStoreByDigest(store: KitStore, digest: string, allowUnpinned: boolean): Promise<KitContent | undefined> {
  try {
    return (await store.read(digest, { allowUnpinned })).content;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Fetch and check a kit from a registry or layout; nothing is stored here. */
export async function fetchKit(opened: OpenedTarget, opts: { allowUnpinned?: boolean } & CopyProgressOptions = {}): Promise<KitContent> {
  const { fetchOpenedKit } = await import("./pull-fetch.js");
  return fetchOpenedKit(opened, opts);
}

/** kit.yaml (with the image pinned, unless the kit is unpinned) and README.md, both or neither. */
async function writeKitFiles(dir: string, kit: KitContent, force: boolean): Promise<string[]> {
  const kitYaml = kit.layers[0].bytes;
  const { kitYamlWithImage } = await import("./pinned-yaml.js");
  // The titles were checked to be exactly these names, so nothing can land outside dir.
  const files: [string, Uint8Array | string][] = [
    [path.join(dir, KIT_YAML_TITLE), kit.kit.unpinned ? kitYaml : kitYamlWithImage(kitYaml.toString("utf8"), kit.kit.image)],
    [path.join(dir, README_TITLE), kit.layers[1].bytes],
  ];
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new IoError(`cannot create ${dir}: ${(err as Error).message}`, { cause: err });
  }
  await writeFilesAtomic(files, { overwrite: force, hint: "pass --force to replace it" });
  return files.map(([file]) => file);
}

