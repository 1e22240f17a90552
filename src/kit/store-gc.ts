/**
 * Garbage collection of an OCI image layout: mark every blob reachable from
 * an index.json entry (manifests -> config, layers; indexes -> manifests),
 * then delete every other blob, plus temp files a crashed writer left behind.
 * Nothing here knows about kits; the caller provides the exclusion against
 * its own writers (KitStore holds its store lock around gc and add).
 *
 * Writers that do not take that lock (another tool copying into the layout)
 * are guarded against by re-reading the roots after the blobs are listed and
 * starting over when they changed; a write that lands between that check and
 * the deletions is not covered, so such tools should not run during a gc.
 */
import { lstat, opendir, rm } from "node:fs/promises";
import { isManifestMediaType, type Descriptor } from "../oras/descriptor.js";
import { MAX_MANIFEST_BYTES } from "../oras/manifest.js";
import { parseDigest } from "../oras/digest.js";
import { InvalidContentError, IoError, NotFoundError } from "../oras/errors.js";
import { errnoCode, ioError } from "../oras/fs.js";
import { isSupportedDigest } from "../oras/layout/index-file.js";
import type { OciLayout } from "../oras/layout/store.js";
import { fetchAll } from "../oras/verify.js";

/** A temp file untouched this long belongs to a writer that died. */
export const STALE_TEMP_MS = 60 * 60 * 1000;
/** Give up when the roots change under us this many times in a row. */
const MAX_MARK_ROUNDS = 5;
// Not in MANIFEST_MEDIA_TYPES (nothing pushes it any more), but old layouts may hold one: its blobs are children.
const ARTIFACT_MANIFEST = "application/vnd.oci.artifact.manifest.v1+json";

export interface GcResult {
  removedBlobs: number;
  /** Bytes of removed blobs and stale temp files. */
  freedBytes: number;
}

interface Mark {
  /** Identifies the set of roots the mark started from. */
  rootsKey: string;
  reachable: Set<string>;
}

export async function collectGarbage(layout: OciLayout, where: string, now: number = Date.now()): Promise<GcResult> {
  let garbage: string[] | undefined;
  for (let round = 0; garbage === undefined; round++) {
    if (round === MAX_MARK_ROUNDS) {
      throw new IoError(`${where} kept changing while garbage was being collected; nothing was deleted`, { hint: "run it again when nothing else writes to the store" });
    }
    const mark = await markReachable(layout, where);
    const unreachable: string[] = [];
    for await (const digest of layout.blobs()) if (!mark.reachable.has(digest)) unreachable.push(digest);
    // An entry added after the mark may name a blob we listed as unreachable: only a mark of the current roots counts.
    if (rootsKeyOf(await layout.roots()) === mark.rootsKey) garbage = unreachable;
  }
  const result: GcResult = { removedBlobs: 0, freedBytes: 0 };
  for (const digest of garbage) {
    const { algorithm, hex } = parseDigest(digest);
    const freed = await removeFile(`${layout.root}/blobs/${algorithm}/${hex}`);
    if (freed !== undefined) {
      result.removedBlobs++;
      result.freedBytes += freed;
    }
  }
  result.freedBytes += await removeStaleTemps(layout.root, now);
  return result;
}

function rootsKeyOf(roots: readonly Descriptor[]): string {
  return roots
    .map((d) => d.digest)
    .sort()
    .join(",");
}

async function markReachable(layout: OciLayout, where: string): Promise<Mark> {
  const roots = await layout.roots();
  const reachable = new Set<string>();
  const stack: Descriptor[] = [...roots];
  while (stack.length > 0) {
    const desc = stack.pop()!;
    if (reachable.has(desc.digest)) continue;
    reachable.add(desc.digest);
    if (isManifestMediaType(desc.mediaType) || desc.mediaType === ARTIFACT_MANIFEST) stack.push(...(await childrenOf(layout, desc, where)));
  }
  return { rootsKey: rootsKeyOf(roots), reachable };
}

/** What a stored manifest references; nothing when it is missing (there is nothing left to keep for it). */
async function childrenOf(layout: OciLayout, desc: Descriptor, where: string): Promise<Descriptor[]> {
  const what = `manifest ${desc.digest} in ${where}`;
  let bytes: Buffer;
  try {
    bytes = await fetchAll(layout, desc, { limit: MAX_MANIFEST_BYTES, what });
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    // Damaged or oversized: what it references is unknown, so deleting anything could break it.
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new InvalidContentError(`${what} is not valid JSON, so what it references is unknown; nothing was deleted`, {
      hint: "remove the entries that name it and run gc again",
    });
  }
  if (!isObject(doc)) return [];
  const children: Descriptor[] = [];
  const add = (value: unknown) => {
    if (isObject(value) && typeof value.digest === "string" && isSupportedDigest(value.digest) && typeof value.mediaType === "string" && typeof value.size === "number") {
      children.push({ mediaType: value.mediaType, digest: value.digest, size: value.size });
    }
  };
  add(doc.config);
  for (const key of ["layers", "manifests", "blobs"]) {
    const list = doc[key];
    if (Array.isArray(list)) list.forEach(add);
  }
  return children;
}

/** Delete a file; its size, or undefined when it was already gone. */
async function removeFile(file: string): Promise<number | undefined> {
  try {
    const { size } = await lstat(file);
    await rm(file);
    return size;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw ioError(err, "delete", file);
  }
}

/** Temp files older than STALE_TEMP_MS in ingest/ (blob writes) and beside index.json (index and lock writes). */
async function removeStaleTemps(root: string, now: number): Promise<number> {
  let freed = 0;
  for (const [dir, isTemp] of [
    [`${root}/ingest`, (_name: string) => true],
    [root, (name: string) => name.endsWith(".tmp")],
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
