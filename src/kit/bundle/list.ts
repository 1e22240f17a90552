/**
 * kit bundle ls: what a bundle holds, from its index.json alone. kit save
 * writes index.json second, so only the head of the file is read (another
 * tool's tar is read until index.json comes). Nothing is verified: this is
 * what the bundle claims, which kit load checks.
 */
import { InvalidContentError, MAX_MANIFEST_BYTES, readAllLimited } from "../../oras/content.js";
import type { BundleCompression } from "./compression.js";
import { bundleTarStream, openBundleFile } from "./open.js";
import { type BundleRoot, parseBundleIndex } from "./roots.js";
import { readTar } from "./tar-read.js";

export interface BundleListing {
  bundle: string;
  compression: BundleCompression;
  /** Bytes of the file. */
  size: number;
  entries: BundleRoot[];
}

export async function listBundle(path: string): Promise<BundleListing> {
  const file = await openBundleFile(path, "kit bundle ls");
  let entries: BundleRoot[] | undefined;
  await readTar(bundleTarStream(file), file.where, async (entry) => {
    if (entry.layout.kind !== "index") return;
    const bytes = await readAllLimited(entry.body, MAX_MANIFEST_BYTES, `index.json of ${file.where}`);
    entries = parseBundleIndex(bytes, `index.json of ${file.where}`);
    return "stop";
  });
  if (entries === undefined) throw new InvalidContentError(`${file.where} is not an OCI image layout: it has no index.json entry`);
  return { bundle: path, compression: file.compression, size: file.size, entries };
}
