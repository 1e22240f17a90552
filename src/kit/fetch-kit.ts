/** Fetching one kit from a registry repository or an OCI layout and checking it, without storing it (pull and sign build on it). */
import { formatReference } from "../oras/content.js";
import type { CopyProgressOptions } from "../oras/copy/index.js";
import { fetchManifestOf, type OpenedTarget } from "../oras/index.js";
import { readKitContent, type KitContent } from "./read-kit.js";

/** Fetch and check a kit from a registry or layout; nothing is stored here. */
export async function fetchKit(opened: OpenedTarget, opts: { allowUnpinned?: boolean } & CopyProgressOptions = {}): Promise<KitContent> {
  const { descriptor, bytes } = await fetchManifestOf(opened);
  return readKitContent(opened.target, descriptor, bytes, formatReference(opened.ref), opts);
}
