/**
 * Pulling a kit: fetch, verify every byte, check every artifact rule, and
 * only then record it in the local store (and write files when asked).
 * Short references (`famiglia@sha256:…`) are served from the store alone.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { IoError, NotFoundError, UsageError } from "../oras/errors.js";
import { formatReference, parseTargetReference } from "../oras/reference.js";
import type { RemoteOptions } from "../oras/remote/registry-client.js";
import { fetchManifestOf, openTarget, type OpenedTarget } from "../oras/targets.js";
import type { KitConfig } from "./artifact.js";
import { writeFilesAtomic } from "./files.js";
import { KIT_YAML_TITLE, README_TITLE } from "./format.js";
import { readKitContent, type KitContent } from "./read-kit.js";
import { isShortKitReference, KitStore, type StoreEntry } from "./store.js";
import { withDefaultCredentials } from "./remote-defaults.js";

export interface PullOptions {
  /** Write kit.yaml and README.md into this directory. */
  output?: string;
  /** Replace existing files in `output`. */
  force?: boolean;
  /** Accept a kit pushed with --no-pin. */
  allowUnpinned?: boolean;
  remote?: RemoteOptions;
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
}

export interface PullResult extends ResolvedKit {
  /** Files written with `output`. */
  files: string[];
}

/** Fetch, verify and store a kit; the same document `kit pull --json` prints. */
export async function resolveKit(reference: string, opts: Omit<PullOptions, "output" | "force"> = {}): Promise<ResolvedKit> {
  const { files: _files, ...resolved } = await pullKit(reference, opts);
  return resolved;
}

export async function pullKit(reference: string, opts: PullOptions = {}): Promise<PullResult> {
  const store = opts.store instanceof KitStore ? opts.store : await KitStore.open(opts.store);
  let resolved: { base: string; fetched: KitContent };
  if (isShortKitReference(reference)) {
    resolved = await fromStoreByName(store, reference, opts);
  } else {
    const ref = parseTargetReference(reference);
    const cached = ref.digest !== undefined && ref.tag === undefined ? await fromStoreByDigest(store, ref.digest, opts) : undefined;
    const fetched = cached ?? (await fetchKit(await openTarget(ref, { remote: withDefaultCredentials(opts.remote) }), opts));
    const base = formatReference({ ...ref, tag: undefined, digest: undefined });
    if (ref.kind === "registry") {
      // Recorded only now, after every check passed: a refused kit leaves nothing in the store.
      const named = formatReference(ref.digest !== undefined && ref.tag === undefined ? { ...ref, tag: undefined } : { ...ref, digest: undefined });
      await store.add({ manifest: { descriptor: fetched.descriptor, bytes: fetched.manifest }, config: fetched.config, layers: fetched.layers }, fetched.kit, [named]);
    }
    resolved = { base, fetched };
  }
  const { fetched } = resolved;
  const files = opts.output === undefined ? [] : await writeKitFiles(opts.output, fetched, opts.force ?? false);
  return { reference: `${resolved.base}@${fetched.descriptor.digest}`, digest: fetched.descriptor.digest, kit: fetched.kit, image: fetched.kit.image, files };
}

async function fromStoreByName(store: KitStore, reference: string, opts: PullOptions): Promise<{ base: string; fetched: KitContent }> {
  const entries = await store.find(reference);
  const digests = [...new Set(entries.map((e) => e.digest))];
  if (digests.length === 0) {
    const name = reference.split(/[:@]/)[0]!;
    const known = await store.knownReferencesFor(name);
    throw new NotFoundError(
      known.length > 0
        ? `kit ${reference} is not in the local store; known references for "${name}": ${known.join(", ")}`
        : `kit ${reference} is not in the local store, and no registry reference is known for "${name}"`,
      { hint: `pull it by its registry reference first, e.g. kit pull REGISTRY/REPO@sha256:…` },
    );
  }
  if (digests.length > 1) {
    throw new UsageError(`kit ${reference} is ambiguous in the local store: ${listEntries(entries)}`, { hint: "name it by digest: NAME@sha256:…" });
  }
  const entry = entries[0]!;
  const stored = await store.read(digests[0]!, { allowUnpinned: opts.allowUnpinned ?? false });
  return { base: registryBase(entry.reference), fetched: stored.content };
}

async function fromStoreByDigest(store: KitStore, digest: string, opts: PullOptions): Promise<KitContent | undefined> {
  try {
    return (await store.read(digest, { allowUnpinned: opts.allowUnpinned ?? false })).content;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Fetch and check a kit from a registry or layout; nothing is stored here. */
export async function fetchKit(opened: OpenedTarget, opts: { allowUnpinned?: boolean } = {}): Promise<KitContent> {
  const { descriptor, bytes } = await fetchManifestOf(opened);
  return readKitContent(opened.target, descriptor, bytes, formatReference(opened.ref), opts);
}

async function writeKitFiles(dir: string, kit: KitContent, force: boolean): Promise<string[]> {
  // The titles were checked to be exactly these names, so nothing can land outside dir.
  const files: [string, Buffer][] = [
    [path.join(dir, KIT_YAML_TITLE), kit.layers[0].bytes],
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


/** `registry/repo` of a recorded reference. */
function registryBase(reference: string): string {
  return formatReference({ ...parseTargetReference(reference), tag: undefined, digest: undefined });
}

function listEntries(entries: StoreEntry[]): string {
  return entries.map((e) => `${e.reference} (${e.digest})`).join(", ");
}
