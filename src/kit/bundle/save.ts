/**
 * kit save: kits and their base images into one bundle file (spec/bundle-v1.md).
 * Planned first (save-plan.ts), then streamed: each blob goes from its
 * source through its digest check into the tar (and the compressor) and on
 * to OUT's temp file, never staged, never held whole. A mismatch or any
 * failure removes the temp file; the bundle appears under its name only
 * complete and on disk (fsync, then link or rename).
 */
import { createWriteStream } from "node:fs";
import { link, lstat, rename, rm } from "node:fs/promises";
import { dirname, resolve as resolvePath } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errnoCode, ExistsError, fetchAll, fsyncDir, ioError, MAX_MANIFEST_BYTES, OciError, tempPathFor, UsageError } from "../../oras/content.js";
import { cachedManifest } from "../../oras/copy/index.js";
import type { KitReference } from "../reference.js";
import { checkCompression, compressor, type BundleCompression } from "./compression.js";
import { INDEX_ENTRY, OCI_LAYOUT_ENTRY, blobEntryName } from "./format.js";
import { type BundleProgress, withProgress } from "./progress.js";
import type { BundleRoot } from "./roots.js";
import { planBundle, type PlannedBlob, type SavePlan, type SavePlanOptions } from "./save-plan.js";
import { TAR_END, tarFile, tarFileWriter, type TarFileWriter } from "./tar-write.js";

export interface SaveBundleOptions extends SavePlanOptions {
  /** Default none. zstd needs a Node whose zlib has it (UsageError otherwise, before anything is fetched). */
  compression?: BundleCompression;
  /** Replace an existing file at the output path. Default: refuse (ExistsError). */
  force?: boolean;
  onProgress?: BundleProgress;
}

export interface SaveBundleResult {
  path: string;
  compression: BundleCompression;
  roots: BundleRoot[];
  /** Files under blobs/ (manifests included). */
  blobs: number;
  /** Their bytes, before compression. */
  bytes: number;
  /** Images of unpinned kits, resolved by their tags at save time. */
  resolvedUnpinned: string[];
}

const LAYOUT_MARKER = Buffer.from(`${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);

/** Write the kits `references` name, each with its base image, into the bundle file `output`. */
export async function saveBundle(references: readonly (string | KitReference)[], output: string, opts: SaveBundleOptions = {}): Promise<SaveBundleResult> {
  const compression = checkCompression(opts.compression ?? "none");
  if (output === "-") {
    throw new UsageError("kit save writes a file, not standard output: a bundle appears under its name only once it is complete", { hint: "name a file with -o FILE" });
  }
  if (!opts.force) await refuseExisting(output);
  const plan = await planBundle(references, opts);
  await writeBundle(plan, output, compression, opts);
  return {
    path: output,
    compression,
    roots: plan.roots,
    blobs: plan.manifests.length + plan.blobs.length,
    bytes: plan.bytes,
    resolvedUnpinned: plan.resolvedUnpinned,
  };
}

async function refuseExisting(output: string): Promise<void> {
  try {
    await lstat(output);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw ioError(err, "check", output);
  }
  throw new ExistsError(`${output} already exists`, { hint: "pass --force to replace it, or choose another file" });
}

async function writeBundle(plan: SavePlan, output: string, compression: BundleCompression, opts: SaveBundleOptions): Promise<void> {
  const writer = await tarFileWriter();
  const temp = tempPathFor(resolvePath(output));
  const onProgress = opts.onProgress;
  onProgress?.({
    type: "phase",
    phase: "save",
    blobs: plan.manifests.length + plan.blobs.length,
    bytes: plan.bytes,
    items: [...plan.manifests, ...plan.blobs].map((b) => b.descriptor),
  });
  const squeeze = compressor(compression);
  const sink = createWriteStream(temp, { flags: "wx", mode: 0o644, flush: true });
  let done = false;
  try {
    const tar = Readable.from(tarEntries(writer, plan, opts), { objectMode: false });
    await (squeeze ? pipeline(tar, squeeze, sink, signalOf(opts)) : pipeline(tar, sink, signalOf(opts)));
    await place(temp, output, opts.force ?? false);
    done = true;
    await fsyncDir(dirname(resolvePath(output)));
  } catch (err) {
    if (err instanceof OciError) throw err;
    throw ioError(err, "write", output);
  } finally {
    if (!done) await rm(temp, { force: true });
  }
}

function signalOf(opts: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return opts.signal ? { signal: opts.signal } : {};
}

/** Put the finished temp file under its name: link() never replaces a file that appeared meanwhile; --force renames over it. */
async function place(temp: string, output: string, force: boolean): Promise<void> {
  if (force) {
    await rename(temp, output);
    return;
  }
  try {
    await link(temp, output);
  } catch (err) {
    if (errnoCode(err) === "EEXIST") throw new ExistsError(`${output} already exists`, { hint: "pass --force to replace it, or choose another file" });
    throw err;
  }
  await rm(temp, { force: true });
}

/** The tar, entry by entry: oci-layout, index.json, the manifests (parents first), the other blobs. */
async function* tarEntries(writer: TarFileWriter, plan: SavePlan, opts: SaveBundleOptions): AsyncGenerator<Buffer> {
  yield* tarFile(writer, OCI_LAYOUT_ENTRY, LAYOUT_MARKER.length, [LAYOUT_MARKER], OCI_LAYOUT_ENTRY);
  yield* tarFile(writer, INDEX_ENTRY, plan.indexJson.length, [plan.indexJson], INDEX_ENTRY);
  for (const manifest of plan.manifests) {
    yield* blobEntry(writer, manifest, Readable.from([await manifestBytes(manifest, opts)]), opts.onProgress);
  }
  for (const blob of plan.blobs) {
    // Verified as it streams (the source's fetch hashes it): a mismatch fails here, and the temp file goes.
    const stream = await blob.source.fetch(blob.descriptor, signalOf(opts));
    try {
      yield* blobEntry(writer, blob, stream, opts.onProgress);
    } finally {
      stream.destroy();
    }
  }
  yield TAR_END;
}

async function* blobEntry(writer: TarFileWriter, blob: PlannedBlob, data: Readable, onProgress: BundleProgress | undefined): AsyncGenerator<Buffer> {
  const { descriptor } = blob;
  onProgress?.({ type: "start", phase: "save", descriptor });
  yield* tarFile(writer, blobEntryName(descriptor.digest), descriptor.size, withProgress(data, onProgress, "save", descriptor), `blob ${descriptor.digest}`);
  onProgress?.({ type: "done", phase: "save", descriptor });
}

async function manifestBytes(manifest: PlannedBlob, opts: { signal?: AbortSignal }): Promise<Buffer> {
  const kept = cachedManifest(manifest.plan, manifest.descriptor.digest);
  if (kept) return Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength);
  return fetchAll(manifest.source, manifest.descriptor, { limit: MAX_MANIFEST_BYTES, what: `manifest ${manifest.descriptor.digest}`, ...signalOf(opts) });
}
