/**
 * A kit's closure: the kit and the exact base image it pins, which is what
 * has to travel together for the kit to run somewhere else (`kit mirror`,
 * `kit save`). Each part keeps its ORIGINAL full reference, so a mirror or a
 * bundle can name it the way the kit does.
 */
import {
  type Descriptor,
  formatReference,
  InvalidContentError,
  parseReference,
  type RegistryReference,
  UsageError,
} from "../oras/content.js";
import { openTarget, type CopySource } from "../oras/index.js";
import { RemoteRepository, type RemoteOptions } from "../oras/remote/index.js";
import type { KitConfig } from "./artifact.js";
import { fetchKit } from "./fetch-kit.js";
import { formatKitReference, toKitReference, type KitReference } from "./reference.js";
import { withDefaultCredentials } from "./remote-defaults.js";
import { KitStore } from "./store.js";

export interface ClosureKit {
  /** The kit as its publisher names it: `REGISTRY/REPO[:TAG]@DIGEST` (the tag when one was given or recorded). */
  reference: RegistryReference & { digest: string };
  descriptor: Descriptor;
  kit: KitConfig;
  /** Where the kit's manifest and blobs are read from: its registry, or the local store. */
  source: CopySource;
}

export interface ClosureImage {
  /**
   * The base image as the kit pins it: `REGISTRY/REPO:TAG@DIGEST`. An
   * unpinned kit (accepted with allowUnpinned) has no digest here: the
   * caller resolves the tag, and says that it did.
   */
  reference: RegistryReference;
  /** The image's registry repository (the whole index is read from it, every platform). */
  source: RemoteRepository;
}

export interface KitClosure {
  kit: ClosureKit;
  image: ClosureImage;
}

export interface ClosureOptions {
  remote?: RemoteOptions;
  /** Accept a kit pushed with --no-pin (its image then travels by its tag as it resolves now). */
  allowUnpinned?: boolean;
  /** The local store, for short references (`famiglia:1.0.0`). Default: $KIT_STORE or ~/.aegis/kits/store. */
  store?: string | KitStore;
}

/**
 * Read and check the kit that `reference` names (a registry reference, or a
 * short one from the local store) and name its base image. Every check of
 * `kit pull` applies; nothing is stored.
 */
export async function kitClosure(reference: string | KitReference, opts: ClosureOptions = {}): Promise<KitClosure> {
  const ref = toKitReference(reference);
  const remote = withDefaultCredentials(opts.remote);
  const allowUnpinned = opts.allowUnpinned ?? false;
  let kit: ClosureKit;
  if (ref.kind === "layout") {
    throw new UsageError(`"${formatKitReference(ref)}" is an OCI layout: a kit travels under the registry reference it was published as`, {
      hint: "name the kit by its registry reference, or pull it first and name it from the local store",
    });
  } else if (ref.kind === "store") {
    const store = await KitStore.openToFind(ref, opts.store);
    const entry = await store.findOne(ref);
    const stored = await store.read(entry.digest, { allowUnpinned });
    const recorded = parseReference(entry.reference);
    kit = { reference: { ...recorded, digest: entry.digest }, descriptor: stored.descriptor, kit: stored.kit, source: store.layout };
  } else {
    const opened = await openTarget(ref, { remote });
    const content = await fetchKit(opened, { allowUnpinned });
    kit = { reference: { ...ref, digest: content.descriptor.digest }, descriptor: content.descriptor, kit: content.kit, source: opened.target };
  }
  const image = imageReference(kit.kit, formatReference(kit.reference));
  return { kit, image: { reference: image, source: new RemoteRepository(image, remote) } };
}

/** The kit's base image as a parsed reference; its config was checked, so a bad one is a broken kit. */
function imageReference(kit: KitConfig, where: string): RegistryReference {
  try {
    return parseReference(kit.image);
  } catch (err) {
    throw new InvalidContentError(`kit ${where} names an image that is not a reference: ${(err as Error).message}`, { cause: err });
  }
}
