/**
 * Garbage collection of an OCI image layout: mark every blob reachable from
 * an index.json entry (manifests -> config, layers; indexes -> manifests),
 * then delete every other blob, plus temp files a crashed writer left behind.
 * The caller provides the exclusion against its own writers (the kit store
 * holds its store lock around gc and add).
 *
 * Writers that do not take that lock (another tool copying into the layout)
 * are guarded against by re-reading the roots after the blobs are listed and
 * starting over when they changed; a write that lands between that check and
 * the deletions is not covered, so such tools should not run during a gc.
 */
import { lstat, opendir, rm } from "../fs-calls.js";
import { isManifestMediaType, type Descriptor } from "../descriptor.js";
import { ARTIFACT_MANIFEST_MEDIA_TYPE, manifestChildren } from "../manifest.js";
import { MAX_MANIFEST_BYTES } from "../limits.js";
import { InvalidContentError, IoError, NotFoundError } from "../errors.js";
import { errnoCode, ioError, isTempPath } from "../fs.js";
import { fetchAll } from "../verify.js";
import type { BlobStore } from "./blob-store.js";

/** A temp file untouched this long belongs to a writer that died. */
export const STALE_TEMP_MS = 60 * 60 * 1000;
/** Give up when the roots change under us this many times in a row. */
const MAX_MARK_ROUNDS = 5;

export interface GcResult {
  removedBlobs: number;
  /** Bytes of removed blobs and stale temp files. */
  freedBytes: number;
}

export interface GcOptions {
  /** Names the layout in messages (default its `oci:PATH` name). */
  name?: string;
  /** The current time in ms, for deciding which temp files are stale (tests). */
  now?: number;
}

/** What a collection works on: the layout's directory, its blobs and its roots (every index.json entry). */
export interface GcSubject {
  root: string;
  blobs: BlobStore;
  roots: () => Promise<Descriptor[]>;
}

interface Mark {
  /** Identifies the set of roots the mark started from. */
  rootsKey: string;
  reachable: Set<string>;
}

export async function collectGarbage(layout: GcSubject, opts: GcOptions & { name: string }): Promise<GcResult> {
  const where = opts.name;
  let garbage: string[] | undefined;
  for (let round = 0; garbage === undefined; round++) {
    if (round === MAX_MARK_ROUNDS) {
      throw new IoError(`${where} kept changing while garbage was being collected; nothing was deleted`, { hint: "run it again when nothing else writes to the store" });
    }
    const mark = await markReachable(layout, where);
    const unreachable: string[] = [];
    for await (const digest of layout.blobs.list()) if (!mark.reachable.has(digest)) unreachable.push(digest);
    // An entry added after the mark may name a blob we listed as unreachable: only a mark of the current roots counts.
    if (rootsKeyOf(await layout.roots()) === mark.rootsKey) garbage = unreachable;
  }
  const result: GcResult = { removedBlobs: 0, freedBytes: 0 };
  for (const digest of garbage) {
    const freed = await layout.blobs.remove(digest);
    if (freed !== undefined) {
      result.removedBlobs++;
      result.freedBytes += freed;
    }
  }
  result.freedBytes += await removeStaleTemps(layout, opts.now ?? Date.now());
  return result;
}

function rootsKeyOf(roots: readonly Descriptor[]): string {
  return roots
    .map((d) => d.digest)
    .sort()
    .join(",");
}

async function markReachable(layout: GcSubject, where: string): Promise<Mark> {
  const roots = await layout.roots();
  const reachable = new Set<string>();
  const stack: Descriptor[] = [...roots];
  while (stack.length > 0) {
    const desc = stack.pop()!;
    if (reachable.has(desc.digest)) continue;
    reachable.add(desc.digest);
    if (isManifestMediaType(desc.mediaType) || desc.mediaType === ARTIFACT_MANIFEST_MEDIA_TYPE) stack.push(...(await childrenOf(layout.blobs, desc, where)));
  }
  return { rootsKey: rootsKeyOf(roots), reachable };
}

/** What a stored manifest references; nothing when it is missing (there is nothing left to keep for it). */
async function childrenOf(blobs: BlobStore, desc: Descriptor, where: string): Promise<Descriptor[]> {
  const what = `manifest ${desc.digest} in ${where}`;
  let bytes: Buffer;
  try {
    bytes = await fetchAll(blobs, desc, { limit: MAX_MANIFEST_BYTES, what });
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    // Damaged or oversized: what it references is unknown, so deleting anything could break it.
    throw err;
  }
  const children = manifestChildren(desc, bytes);
  if (children === undefined) {
    throw new InvalidContentError(`${what} is not a JSON object, so what it references is unknown; nothing was deleted`, {
      hint: "remove the entries that name it and run gc again",
    });
  }
  return children;
}

/** Temp files older than STALE_TEMP_MS: all of ingest/ (blob writes), and tempPathFor() files beside index.json (index and lock writes). */
async function removeStaleTemps(layout: GcSubject, now: number): Promise<number> {
  let freed = 0;
  for (const [dir, isTemp] of [
    [layout.blobs.ingestDir, (_name: string) => true],
    [layout.root, isTempPath],
  ] as const) {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") continue;
      throw ioError(err, "list", dir);
    }
    for await (const entry of handle) {
      if (!entry.isFile() || !isTemp(entry.name)) continue;
      const file = `${dir}/${entry.name}`;
      try {
        const st = await lstat(file);
        if (now - st.mtimeMs < STALE_TEMP_MS) continue;
        await rm(file);
        freed += st.size;
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw ioError(err, "delete", file);
      }
    }
  }
  return freed;
}
