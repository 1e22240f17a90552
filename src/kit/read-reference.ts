/**
 * Reading a published kit to look at it (`kit show`, `kit diff`): from a
 * registry, an `oci:` layout or the local store, every byte verified and every
 * artifact rule checked, exactly as pull does, but nothing is written
 * anywhere, not even the local store. Unpinned kits are accepted: looking at
 * one is not running it.
 */
import { formatReference, parseTargetReference } from "../oras/content.js";
import { openTarget } from "../oras/index.js";
import type { RemoteOptions } from "../oras/remote/index.js";
import { fetchKit } from "./fetch-kit.js";
import type { KitContent } from "./read-kit.js";
import { withDefaultCredentials } from "./remote-defaults.js";
import { isShortKitReference, KitStore } from "./store.js";

export interface ReadKitReferenceOptions {
  remote?: RemoteOptions;
  /** Path of the local store (for short references) or an open one. Default: $KIT_STORE or ~/.aegis/kits/store. */
  store?: string | KitStore;
}

export interface ReadKit {
  /** Where the kit was read: `REGISTRY/REPO@sha256:…` or `oci:PATH@sha256:…`. */
  reference: string;
  source: "registry" | "layout" | "store";
  content: KitContent;
}

export async function readKitReference(reference: string, opts: ReadKitReferenceOptions = {}): Promise<ReadKit> {
  if (isShortKitReference(reference)) return readFromStore(reference, opts.store);
  const ref = parseTargetReference(reference);
  const opened = await openTarget(ref, { remote: withDefaultCredentials(opts.remote) });
  const content = await fetchKit(opened, { allowUnpinned: true });
  return { reference: formatReference({ ...ref, tag: undefined, digest: content.descriptor.digest }), source: ref.kind, content };
}

async function readFromStore(reference: string, storeOption: string | KitStore | undefined): Promise<ReadKit> {
  // No store yet is an empty one: the same message pull and inspect give.
  const store = await KitStore.openToFind(reference, storeOption);
  // The same resolution pull and inspect use: ambiguity and absence are refused alike.
  const entry = await store.findOne(reference);
  const stored = await store.read(entry.digest, { allowUnpinned: true });
  const recorded = parseTargetReference(entry.reference);
  return { reference: formatReference({ ...recorded, tag: undefined, digest: stored.descriptor.digest }), source: "store", content: stored.content };
}
