/**
 * Building: a kit directory (validated) becomes an artifact in memory, with
 * its base image pinned. Nothing is written here; packKit and pushKit
 * (push.ts) write it into a layout or a registry.
 */
import path from "node:path";
import type { RemoteOptions } from "../oras/remote/index.js";
import { buildKitArtifact, README_TITLE, type KitArtifact } from "./artifact.js";
import { loadKit } from "./load.js";
import { pinImage } from "./pin.js";
import { createdTimestamp, gitInfo } from "./provenance.js";
import { readReadme } from "./readme.js";

export interface BuildKitOptions {
  /** Resolve the image to a digest (default true). false records the kit as unpinned. */
  pin?: boolean;
  /** Confirm at its registry an image that already names a digest (default true; kit pack: false, offline). */
  confirmPinnedImage?: boolean;
  /** An RFC 3339 time or "now" for org.opencontainers.image.created; default: SOURCE_DATE_EPOCH or none. */
  created?: string;
  remote?: RemoteOptions;
  env?: NodeJS.ProcessEnv;
}

/** Validate and pin a kit directory and build its artifact in memory. */
export async function buildKit(dir: string, opts: BuildKitOptions = {}): Promise<KitArtifact> {
  const created = createdTimestamp(opts.created, opts.env ?? process.env);
  const kit = await loadKit(dir);
  const kitDir = path.dirname(kit.file);
  const readme = await readReadme(path.join(kitDir, README_TITLE));
  const pinnedImage = opts.pin === false ? undefined : await pinImage(kit.manifest.image, opts.remote, { confirmDigest: opts.confirmPinnedImage ?? true });
  const git = await gitInfo(kitDir);
  return buildKitArtifact({
    manifest: kit.manifest,
    kitYaml: kit.bytes,
    readme,
    ...(pinnedImage !== undefined ? { pinnedImage } : {}),
    ...git,
    ...(created !== undefined ? { created } : {}),
  });
}
