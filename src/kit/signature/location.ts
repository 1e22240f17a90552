/**
 * Where a kit's signatures are: the storage holding the kit (a registry
 * repository, an OCI layout, the local store's layout), the kit manifest
 * they sign, the repository they sign it for, and the tag of the
 * simple-signing manifest there. Signing and verifying work on this alone,
 * so any Target with referrers will do.
 *
 * Tags: in a registry or a plain layout the simple-signing manifest is
 * tagged as cosign tags it, `sha256-<hex>.sig`; in the local store, whose
 * entries are named by full references, `REGISTRY/REPO:sha256-<hex>.sig`.
 */
import { type Descriptor, formatReference, fromEndpoints, type MirrorPolicies, type PredecessorFinder, type Target, UsageError } from "../../oras/content.js";
import { openTarget } from "../../oras/index.js";
import type { RemoteOptions } from "../../oras/remote/index.js";
import { fetchKit } from "../fetch-kit.js";
import { formatKitReference, toKitReference, type KitReference } from "../reference.js";
import { withDefaultCredentials } from "../remote-defaults.js";
import { KitStore } from "../store.js";
import { recordedRepository } from "../store-reference.js";
import { parseIdentity } from "./claims.js";
import { signatureTag } from "./format.js";

/** What signatures are read from and written to. */
export type SignatureTarget = Target & PredecessorFinder;

export interface KitSignatures {
  target: SignatureTarget;
  /** The kit manifest signed. */
  subject: Descriptor;
  /** `REGISTRY/REPO` the signatures name (cosign's docker-reference). */
  identity: string;
  /** The tag of the simple-signing manifest in `target`. */
  signatureTag: string;
  /** The kit where it was found, by digest, for messages: `REGISTRY/REPO@sha256:…`, `oci:PATH@sha256:…`. */
  reference: string;
  /** Runs a writer holding whatever lock the target needs (the store's); others run it as is. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

const unlocked = <T>(fn: () => Promise<T>): Promise<T> => fn();

/** The signatures of `subject` in a registry repository or an OCI layout (`name`: `REGISTRY/REPO` or `oci:PATH`). */
export function signaturesIn(target: SignatureTarget, subject: Descriptor, identity: string, name: string): KitSignatures {
  return { target, subject: plain(subject), identity, signatureTag: signatureTag(subject.digest), reference: `${name}@${subject.digest}`, exclusive: unlocked };
}

/** The signatures of a kit held by the local store, for `identity` (the repository its entry is recorded under). */
export function signaturesInStore(store: KitStore, subject: Descriptor, identity: string): KitSignatures {
  return {
    target: store.layout,
    subject: plain(subject),
    identity,
    signatureTag: `${identity}:${signatureTag(subject.digest)}`,
    reference: `${identity}@${subject.digest} in ${store.where}`,
    exclusive: (fn) => store.exclusive(fn),
  };
}

export interface OpenSignaturesOptions {
  remote?: RemoteOptions;
  /** The local store, for store references (a path or an open one). Default: $KIT_STORE. */
  store?: string | KitStore;
  /**
   * The repository the signatures name, `REGISTRY/REPO`. Default: the
   * registry reference's repository, or the one a store entry is recorded
   * under; required for an OCI layout, which has none.
   */
  identity?: string;
  /**
   * The config file's mirrors (verifying only): a registry reference is read
   * from its registry's mirrors as a pull reads it (spec/config.md), while
   * the identity stays the repository as named — the publisher's, which is
   * what its signatures name wherever they were copied. Signing never reads
   * through mirrors: it writes next to the kit where it is named.
   */
  mirrors?: MirrorPolicies;
}

/**
 * The kit a reference names, resolved to its digest and checked to be a kit
 * (unpinned ones too: signing one is not running it), and where its
 * signatures are. Store references (`famiglia@sha256:…`) are the local store's.
 */
export async function openKitSignatures(reference: string | KitReference, opts: OpenSignaturesOptions = {}): Promise<KitSignatures> {
  const ref = toKitReference(reference);
  const given = opts.identity !== undefined ? parseIdentity(opts.identity) : undefined;
  if (ref.kind === "store") {
    const store = await KitStore.openToFind(ref, opts.store);
    const entry = await store.findOne(ref);
    const { descriptor } = await store.read(entry.digest, { allowUnpinned: true });
    return signaturesInStore(store, descriptor, given ?? recordedRepository(entry));
  }
  if (ref.kind === "layout" && given === undefined) {
    throw new UsageError(`${formatKitReference(ref)} is an OCI layout, which does not say which repository the kit is signed for`, {
      hint: "name it with --identity REGISTRY/REPO (the kit's repository in its registry)",
    });
  }
  const remote = withDefaultCredentials(opts.remote);
  const name = formatReference({ ...ref, tag: undefined, digest: undefined });
  if (ref.kind === "registry" && opts.mirrors?.get(ref.registry) !== undefined) {
    // Through the mirrors: the first endpoint that serves the kit is where its signatures are read.
    const served = await fromEndpoints(ref, opts.mirrors.get(ref.registry), async (at) => {
      const opened = await openTarget(at.ref, { remote });
      return { opened, descriptor: (await fetchKit(opened, { allowUnpinned: true })).descriptor };
    });
    const { opened, descriptor } = served.value;
    return signaturesIn(opened.target, descriptor, given ?? name, formatReference({ ...served.endpoint.ref, tag: undefined, digest: undefined }));
  }
  const opened = await openTarget(ref, { remote });
  // A tag is resolved here, once: what is signed is the digest, never the tag.
  const { descriptor } = await fetchKit(opened, { allowUnpinned: true });
  return signaturesIn(opened.target, descriptor, given ?? name, name);
}

function plain(desc: Descriptor): Descriptor {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}
