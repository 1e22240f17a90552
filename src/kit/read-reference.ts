/**
 * Reading a published kit to look at it (`kit show`, `kit diff`): from a
 * registry, an `oci:` layout or the local store, every byte verified and every
 * artifact rule checked, exactly as pull does, but nothing is written
 * anywhere, not even the local store. Unpinned kits are accepted: looking at
 * one is not running it.
 */
import { NotFoundError, UsageError } from "../oras/errors.js";
import { formatReference, parseTargetReference } from "../oras/reference.js";
import type { RemoteOptions } from "../oras/remote/registry-client.js";
import { openTarget } from "../oras/targets.js";
import { fetchKit } from "./pull.js";
import type { KitContent } from "./read-kit.js";
import { withDefaultCredentials } from "./remote-defaults.js";
import { defaultStorePath, isShortKitReference, KitStore } from "./store.js";

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
  const store = storeOption instanceof KitStore ? storeOption : await KitStore.openIfExists(storeOption);
  const entries = store ? await store.find(reference) : [];
  if (store === undefined || entries.length === 0) {
    const storePath = typeof storeOption === "string" ? storeOption : defaultStorePath();
    const where = store ? "in the local store" : `in the local store (there is none at ${storePath})`;
    throw new NotFoundError(`kit ${reference} is not ${where}`, { hint: "name it by its registry reference, or run kit ls to see what the store holds" });
  }
  const digests = [...new Set(entries.map((e) => e.digest))];
  if (digests.length > 1) {
    throw new UsageError(`kit ${reference} is ambiguous in the local store: it names ${digests.length} different kits`, { hint: "name it by digest: NAME@sha256:…" });
  }
  const stored = await store.read(digests[0]!, { allowUnpinned: true });
  const entry = parseTargetReference(entries[0]!.reference);
  return { reference: formatReference({ ...entry, tag: undefined, digest: stored.descriptor.digest }), source: "store", content: stored.content };
}
