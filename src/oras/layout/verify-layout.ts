/**
 * Verification of an OCI image layout, reading only: every blob file is
 * re-hashed against the digest that names it, and everything index.json names
 * is walked (indexes -> manifests -> config and layers) to check that it is
 * stored, has the size its descriptor says, and, for manifests, parses. Each
 * problem is reported, not thrown, so one run names all of them.
 *
 * Manifests are read strictly (manifestSuccessors, as copy reads them): one
 * that copy could not walk is a problem. A layer that copy leaves at its
 * source (non-distributable, or with `urls`) may be absent.
 */
import { createReadStream } from "node:fs";
import { isManifestMediaType, type Descriptor } from "../descriptor.js";
import { MAX_MANIFEST_BYTES } from "../limits.js";
import { createDigester, parseDigest } from "../digest.js";
import { OciError, type ErrorCode } from "../errors.js";
import { errnoCode, ioError } from "../fs.js";
import { isNonDistributable, manifestSuccessors, type SuccessorRole } from "../copy/successors.js";
import { fetchAll } from "../verify.js";
import type { BlobStore } from "./blob-store.js";

const HASH_CHUNK_BYTES = 1024 * 1024;

export type LayoutProblem =
  /** The blob's bytes do not hash to the digest that names its file. */
  | { problem: "digest-mismatch"; digest: string; actual: string; message: string }
  /** The blob is intact but a descriptor naming it (in `manifest`, or the index entry `reference`) claims another size. */
  | { problem: "size-mismatch"; digest: string; expected: number; actual: number; manifest?: string; reference?: string; message: string }
  /** `manifest` references the blob as its `role` and the layout does not hold it. */
  | { problem: "missing-child"; digest: string; manifest: string; role: SuccessorRole; message: string }
  /** An index.json entry (tagged `reference`, or untagged) names content the layout does not hold. */
  | { problem: "missing-entry-target"; digest: string; reference?: string; message: string }
  /** A manifest that is stored intact but does not parse as the manifest its descriptor says. */
  | { problem: "unparseable-manifest"; digest: string; message: string };

export type LayoutProblemKind = LayoutProblem["problem"];

export interface LayoutReport {
  /** Blob files re-hashed. */
  blobs: number;
  /** Bytes hashed. */
  bytes: number;
  /** Manifests parsed while walking from index.json. */
  manifests: number;
  problems: LayoutProblem[];
}

interface HashedBlob {
  size: number;
  intact: boolean;
}

type NamedBy = { entry: string | undefined } | { manifest: string; role: SuccessorRole };

export async function verifyLayout(
  blobs: BlobStore,
  entries: ReadonlyArray<{ name?: string; descriptor: Descriptor }>,
  opts: { signal?: AbortSignal } = {},
): Promise<LayoutReport> {
  const report: LayoutReport = { blobs: 0, bytes: 0, manifests: 0, problems: [] };
  const hashed = new Map<string, HashedBlob>();
  const digests: string[] = [];
  for await (const digest of blobs.list()) digests.push(digest);
  for (const digest of digests.sort()) {
    opts.signal?.throwIfAborted();
    const result = await rehash(blobs, digest);
    if (result === undefined) continue; // deleted since it was listed
    report.blobs++;
    report.bytes += result.size;
    const intact = result.digest === digest;
    hashed.set(digest, { size: result.size, intact });
    if (!intact) report.problems.push({ problem: "digest-mismatch", digest, actual: result.digest, message: `digest mismatch: its bytes hash to ${result.digest}` });
  }

  const reported = new Set<string>();
  const parsed = new Set<string>();
  const stack: Array<{ desc: Descriptor; by: NamedBy }> = entries.map((e): { desc: Descriptor; by: NamedBy } => ({ desc: e.descriptor, by: { entry: e.name } })).reverse();
  while (stack.length > 0) {
    opts.signal?.throwIfAborted();
    const { desc, by } = stack.pop()!;
    const blob = hashed.get(desc.digest);
    const key = `${desc.digest} ${"manifest" in by ? by.manifest : `entry ${by.entry ?? ""}`}`;
    if (blob === undefined) {
      if ("manifest" in by && by.role === "layer" && (isNonDistributable(desc) || (desc.urls?.length ?? 0) > 0)) continue;
      if (!reported.has(key)) report.problems.push(missing(desc.digest, by));
      reported.add(key);
      continue;
    }
    if (!blob.intact) continue; // reported with the blobs; what it references cannot be trusted
    if (blob.size !== desc.size && !reported.has(key)) {
      reported.add(key);
      report.problems.push(sizeMismatch(desc, blob.size, by));
    }
    if (!isManifestMediaType(desc.mediaType) || parsed.has(desc.digest)) continue;
    parsed.add(desc.digest);
    const stored = { ...desc, size: blob.size };
    try {
      const bytes = await fetchAll(blobs, stored, { limit: MAX_MANIFEST_BYTES, what: `manifest ${desc.digest}` });
      const successors = manifestSuccessors(stored, bytes);
      report.manifests++;
      for (const s of successors.reverse()) stack.push({ desc: s.descriptor, by: { manifest: desc.digest, role: s.role } });
    } catch (err) {
      if (!(err instanceof OciError) || err.code === "IO" || err.code === "NOT_FOUND") throw err;
      report.problems.push({ problem: "unparseable-manifest", digest: desc.digest, message: `unparseable manifest: ${err.message}` });
    }
  }
  return report;
}

/**
 * The error a report amounts to, for callers that fail on a damaged layout;
 * undefined when it found nothing. Bytes that do not match their digest and
 * missing content are integrity failures (DIGEST_MISMATCH); descriptors that
 * only claim a wrong size, SIZE_MISMATCH; manifests that only fail to parse,
 * INVALID_CONTENT.
 */
export function layoutReportError(report: LayoutReport, where: string): OciError | undefined {
  const { problems } = report;
  if (problems.length === 0) return undefined;
  const count = (kinds: readonly LayoutProblemKind[]) => problems.filter((p) => kinds.includes(p.problem)).length;
  const code: ErrorCode =
    count(["digest-mismatch", "missing-child", "missing-entry-target"]) > 0
      ? "DIGEST_MISMATCH"
      : count(["size-mismatch"]) > 0
        ? "SIZE_MISMATCH"
        : "INVALID_CONTENT";
  const parts = (
    [
      [count(["digest-mismatch"]), "digest mismatch", "digest mismatches"],
      [count(["size-mismatch"]), "size mismatch", "size mismatches"],
      [count(["missing-child", "missing-entry-target"]), "missing", "missing"],
      [count(["unparseable-manifest"]), "unparseable manifest", "unparseable manifests"],
    ] as const
  ).flatMap(([n, one, many]) => (n === 0 ? [] : [`${n} ${n === 1 ? one : many}`]));
  return new OciError(code, `${where} failed verification: ${plural(problems.length, "problem")} (${parts.join(", ")})`, {
    hint: "copy the damaged or missing content again from its source, or remove what names it",
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function missing(digest: string, by: NamedBy): LayoutProblem {
  if ("manifest" in by) return { problem: "missing-child", digest, manifest: by.manifest, role: by.role, message: `missing: the ${by.role} of manifest ${by.manifest}` };
  const message = by.entry === undefined ? "missing: an untagged index.json entry names it" : `missing: the index.json entry "${by.entry}" names it`;
  return { problem: "missing-entry-target", digest, ...(by.entry === undefined ? {} : { reference: by.entry }), message };
}

function sizeMismatch(desc: Descriptor, actual: number, by: NamedBy): LayoutProblem {
  const named = "manifest" in by ? `manifest ${by.manifest}` : by.entry === undefined ? "an untagged index.json entry" : `the index.json entry "${by.entry}"`;
  return {
    problem: "size-mismatch",
    digest: desc.digest,
    expected: desc.size,
    actual,
    ...("manifest" in by ? { manifest: by.manifest } : by.entry === undefined ? {} : { reference: by.entry }),
    message: `size mismatch: ${named} says ${desc.size} bytes, the blob has ${actual}`,
  };
}

/** The digest and size of a blob file's bytes, streamed; undefined when the file is gone. */
async function rehash(blobs: BlobStore, digest: string): Promise<{ digest: string; size: number } | undefined> {
  const { file } = blobs.pathOf(digest);
  const { algorithm } = parseDigest(digest);
  const hash = createDigester(algorithm);
  let size = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: HASH_CHUNK_BYTES })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw ioError(err, "read", file);
  }
  return { digest: `${algorithm}:${hash.digest("hex")}`, size };
}
