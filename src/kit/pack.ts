/**
 * Building: a kit directory (validated) becomes an artifact in memory, with
 * its base image pinned. Nothing is written here; packKit and pushKit
 * (push.ts) write it into a layout or a registry.
 */
import path from "node:path";
import type { RemoteOptions } from "../oras/remote/index.js";
import { type Descriptor, UsageError } from "../oras/content.js";
import { type ArtifactInput, buildKitArtifact, README_TITLE, type KitArtifact, type ManifestForm } from "./artifact.js";
import { loadKit } from "./load.js";
import { pinImage, pinImageDescriptor } from "./pin.js";
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
  /** Make the kit a referrer of its pinned image (`subject`); needs the image's registry. */
  attach?: boolean;
  /** The manifest form (artifact.ts); default "oci-1.1". */
  form?: ManifestForm;
}

/** A built kit, the image it is attached to when built with `attach`, and what it was built from (to build another form). */
export interface BuiltKit extends KitArtifact {
  subject?: Descriptor;
  input: ArtifactInput;
}

/** Validate and pin a kit directory and build its artifact in memory. */
export async function buildKit(dir: string, opts: BuildKitOptions = {}): Promise<BuiltKit> {
  const created = createdTimestamp(opts.created, opts.env ?? process.env);
  const kit = await loadKit(dir);
  const kitDir = path.dirname(kit.file);
  const readme = await readReadme(path.join(kitDir, README_TITLE));
  if (opts.attach && opts.pin === false) {
    throw new UsageError("--attach needs the image pinned: a kit attaches to one exact image digest", { hint: "leave out --no-pin, or --attach" });
  }
  let pinnedImage: string | undefined;
  let subject: Descriptor | undefined;
  if (opts.attach) {
    ({ reference: pinnedImage, descriptor: subject } = await pinImageDescriptor(kit.manifest.image, opts.remote));
  } else if (opts.pin !== false) {
    pinnedImage = await pinImage(kit.manifest.image, opts.remote, { confirmDigest: opts.confirmPinnedImage ?? true });
  }
  const git = await gitInfo(kitDir);
  const input: ArtifactInput = {
    manifest: kit.manifest,
    kitYaml: kit.bytes,
    readme,
    ...(pinnedImage !== undefined ? { pinnedImage } : {}),
    ...git,
    ...(created !== undefined ? { created } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(opts.form !== undefined ? { form: opts.form } : {}),
  };
  return fromInput(input);
}

/** The same kit in another manifest form (artifact.ts): same config and layers, another manifest digest. */
export function withForm(built: BuiltKit, form: ManifestForm): BuiltKit {
  return fromInput({ ...built.input, form });
}

function fromInput(input: ArtifactInput): BuiltKit {
  const artifact = buildKitArtifact(input);
  const attached = (input.form ?? "oci-1.1") === "oci-1.1" && input.subject !== undefined;
  return attached ? { ...artifact, input, subject: input.subject! } : { ...artifact, input };
}
