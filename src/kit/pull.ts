/**
 * Pulling a kit: fetch, verify every byte, check every artifact rule, and
 * only then record it in the local store (and write files when asked).
 * Store references (`famiglia@sha256:…`) are served from the store alone,
 * without loading the registry client (pull-fetch.ts).
 */
import path from "node:path";
import {
  formatReference,
  fsCalls,
  IoError,
  type MirrorPolicies,
  NotFoundError,
  type RegistryReference,
  type Target,
  UntrustedError,
  UsageError,
  writeFilesAtomic,
} from "../oras/content.js";
import type { CopyProgressOptions } from "../oras/copy/index.js";
import type { OpenedTarget } from "../oras/index.js";
import type { RemoteOptions } from "../oras/remote/index.js";
import type { KitConfig } from "./artifact.js";
import { KIT_YAML_TITLE, README_TITLE } from "./format.js";
import type { KitContent } from "./read-kit.js";
import { formatKitReference, toKitReference, type KitReference } from "./reference.js";
import { KitStore } from "./store.js";
import { recordedRepository } from "./store-reference.js";
import type { SignatureTarget } from "./signature/location.js";
import { type TrustOutcome, type TrustPolicy, type TrustScope, trustScopeFor, trustScopeForRepository } from "./trust.js";

const { mkdir } = fsCalls;

/** onPlan and onProgress hear the kit's blobs being fetched (not a pull served from the local store). */
export interface PullOptions extends CopyProgressOptions {
  /** Write kit.yaml (its image pinned, as the kit runs it) and README.md into this directory. */
  output?: string;
  /** Replace existing files in `output`. */
  force?: boolean;
  /** Accept a kit pushed with --no-pin. */
  allowUnpinned?: boolean;
  remote?: RemoteOptions;
  /** Mirrors to pull registry references through (loadKitSettings reads them from the config file); none by default. */
  mirrors?: MirrorPolicies;
  /** Path of the local store or an open one. Default: $KIT_STORE or ~/.aegis/kits/store. */
  store?: string | KitStore;
  /**
   * The trust policy (loadKitSettings reads it from the config file); none
   * by default. A kit whose scope requires a signature is refused
   * (UntrustedError, nothing stored) unless one verifies; the signatures
   * that did are stored with it, so a pull from the store checks them again.
   */
  trust?: TrustPolicy;
  /**
   * Also store what is attached to the kit where it was served (referrers:
   * signature bundles, SBOMs, kits attached to it; cosign's .sig/.att/.sbom
   * tags; recursively), as kit load stores a bundle's. Fetches the kit even
   * when the store holds it.
   */
  referrers?: boolean;
}

/** What `kit pull --json` prints and aegisd consumes. */
export interface ResolvedKit {
  /** `REGISTRY/REPO@sha256:…` of the manifest. */
  reference: string;
  digest: string;
  /** The validated kit config. */
  kit: KitConfig;
  /** The pinned base image `REGISTRY/REPO:TAG@sha256:…` (as written when the kit is unpinned). */
  image: string;
  /**
   * The repository the kit was fetched from: the reference's own, or the
   * mirror's that served it (`reference` keeps the original name either
   * way); `oci:PATH` for a layout. A kit the local store served without
   * fetching names the repository it is recorded under, as `reference` does.
   */
  endpoint: string;
  /** What the trust policy said, when one of its scopes applies to the kit's repository. */
  trust?: TrustOutcome;
}

/** A manifest stored with a kit: a signature, or (with `referrers`) anything attached to it. */
export interface StoredAttachment {
  digest: string;
  /** The tag it goes by (cosign's `sha256-<hex>.sig`, …); absent for a referrer. */
  tag?: string;
}

export interface PullResult extends ResolvedKit {
  /** Files written with `output`. */
  files: string[];
  /** With `referrers`: what was stored with the kit, subjects before what is attached to them. */
  attachments?: StoredAttachment[];
}

/** Fetch, verify and store a kit; the same document `kit pull --json` prints. */
export async function resolveKit(reference: string | KitReference, opts: Omit<PullOptions, "output" | "force"> = {}): Promise<ResolvedKit> {
  const { files: _files, ...resolved } = await pullKit(reference, opts);
  return resolved;
}

export async function pullKit(reference: string | KitReference, opts: PullOptions = {}): Promise<PullResult> {
  const ref = toKitReference(reference);
  if (opts.referrers === true && ref.kind !== "registry") {
    throw new UsageError(`${formatKitReference(ref)} is not a registry reference: attachments are stored with kits pulled from a registry`, {
      hint: ref.kind === "store" ? "pull it by its registry reference (kit ls shows it) with --referrers" : "copy them with kit copy -r, or load a bundle with kit load",
    });
  }
  const allowUnpinned = opts.allowUnpinned ?? false;
  let base: string;
  let fetched: KitContent;
  let endpoint: string | undefined;
  let trust: TrustOutcome | undefined;
  let attachmentsOut: StoredAttachment[] | undefined;
  if (ref.kind === "store") {
    const store = await KitStore.openToFind(ref, opts.store);
    const entry = await store.findOne(ref);
    fetched = (await store.read(entry.digest, { allowUnpinned })).content;
    base = recordedRepository(entry);
    // Offline, the signatures stored with the kit are checked again: a policy added since the pull applies too.
    const scope = trustScopeForRepository(opts.trust, base);
    if (scope !== undefined) trust = await trustInStore(store, fetched, base, scope);
  } else {
    // The store is created only when a kit is recorded in it: a failed pull leaves no trace.
    const existing = opts.store instanceof KitStore ? opts.store : await KitStore.openIfExists(opts.store);
    base = formatReference({ ...ref, tag: undefined, digest: undefined });
    const scope = ref.kind === "registry" ? trustScopeFor(opts.trust, ref) : undefined;
    const byDigest = ref.digest !== undefined && ref.tag === undefined;
    const fromStore = byDigest && ref.digest !== undefined && existing !== undefined && opts.referrers !== true;
    let cached = fromStore ? await fromStoreByDigest(existing!, ref.digest!, allowUnpinned) : undefined;
    if (cached !== undefined && scope !== undefined) {
      try {
        trust = await trustInStore(existing!, cached, base, scope);
      } catch (err) {
        // Not trusted as stored: the registry may hold the signature the store lacks.
        if (!(err instanceof UntrustedError)) throw err;
        cached = undefined;
      }
    }
    let signatures: StoredAttachment[] = [];
    let attachments: StoredAttachment[] | undefined;
    let servedBy: Target | undefined;
    if (cached !== undefined) fetched = cached;
    else {
      const served = await fetchKitThrough(ref, opts);
      ({ content: fetched, endpoint } = served);
      servedBy = served.target;
      if (scope !== undefined) {
        // Checked where the kit was served (a mirror too), for the repository the reference names.
        const { signaturesIn } = await import("./signature/location.js");
        const { enforceTrust } = await import("./signature/policy.js");
        const where = signaturesIn(served.target as SignatureTarget, fetched.descriptor, base, endpoint);
        trust = await enforceTrust(where, scope);
        signatures = trust.verified.map((v) => (v.form === "simplesigning" ? { tag: where.signatureTag, digest: v.manifest } : { digest: v.manifest }));
      }
      if (opts.referrers === true) {
        const { findAttachments } = await import("./attachments.js");
        attachments = (await findAttachments(served.target as SignatureTarget, [fetched.descriptor])).map((a) => ({ digest: a.descriptor.digest, ...(a.tag !== undefined ? { tag: a.tag } : {}) }));
        const listed = new Set(attachments.map((a) => a.digest));
        signatures = [...attachments, ...signatures.filter((s) => !listed.has(s.digest))];
      }
    }
    if (ref.kind === "registry") {
      // Recorded only now, after every check passed, under the name asked for (never a mirror's): a refused kit leaves nothing in the store.
      const named = byDigest ? ref : { ...ref, digest: undefined };
      const store = existing ?? (await KitStore.open(opts.store instanceof KitStore ? undefined : opts.store));
      const blobs = { manifest: { descriptor: fetched.descriptor, bytes: fetched.manifest }, config: fetched.config, layers: fetched.layers };
      if (signatures.length === 0 || servedBy === undefined) await store.add(blobs, fetched.kit, [named]);
      else await recordWithSignatures(store, servedBy, blobs, fetched.kit, named, base, signatures);
      attachmentsOut = attachments;
    }
  }
  const files = opts.output === undefined ? [] : await writeKitFiles(opts.output, fetched, opts.force ?? false);
  return {
    reference: `${base}@${fetched.descriptor.digest}`,
    digest: fetched.descriptor.digest,
    kit: fetched.kit,
    image: fetched.kit.image,
    endpoint: endpoint ?? base,
    ...(trust !== undefined ? { trust } : {}),
    files,
    ...(attachmentsOut !== undefined ? { attachments: attachmentsOut } : {}),
  };
}

async function trustInStore(store: KitStore, kit: KitContent, identity: string, scope: TrustScope) {
  const { signaturesInStore } = await import("./signature/location.js");
  const { enforceTrust } = await import("./signature/policy.js");
  return enforceTrust(signaturesInStore(store, kit.descriptor, identity), scope);
}

/**
 * The kit and the manifests stored with it (the signatures that verified it,
 * and with `referrers` what is attached to it), in one store write: a tagged
 * one under `REPO:TAG` (the simple-signing manifest under
 * `REPO:sha256-<hex>.sig`), a referrer under `REPO@sha256:…`, as kit load
 * records them. Copied by digest, so what is stored is what was verified.
 */
async function recordWithSignatures(
  store: KitStore,
  source: Target,
  blobs: Parameters<KitStore["add"]>[0],
  kit: KitContent["kit"],
  named: RegistryReference,
  repository: string,
  signatures: readonly StoredAttachment[],
): Promise<void> {
  const { copyGraph } = await import("../oras/copy/index.js");
  await store.write(async (writer) => {
    await writer.addKit(blobs, kit, [named]);
    for (const s of signatures) {
      const root = await source.resolve(s.digest);
      await copyGraph(source, writer.layout, root);
      await writer.addImage(root, s.tag !== undefined ? `${repository}:${s.tag}` : `${repository}@${s.digest}`, "attachment");
    }
  });
}

/** Fetch and check a kit from a layout, or from a registry through its mirrors; `endpoint` names the repository that served. */
async function fetchKitThrough(ref: Exclude<KitReference, { kind: "store" }>, opts: PullOptions): Promise<{ content: KitContent; endpoint: string; target: Target }> {
  const { fetchKitFrom } = await import("./pull-fetch.js");
  return fetchKitFrom(ref, opts);
}

async function fromStoreByDigest(store: KitStore, digest: string, allowUnpinned: boolean): Promise<KitContent | undefined> {
  try {
    return (await store.read(digest, { allowUnpinned })).content;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Fetch and check a kit from a registry or layout; nothing is stored here. */
export async function fetchKit(opened: OpenedTarget, opts: { allowUnpinned?: boolean } & CopyProgressOptions = {}): Promise<KitContent> {
  const { fetchKit: fetch } = await import("./fetch-kit.js");
  return fetch(opened, opts);
}

/** kit.yaml (with the image pinned, unless the kit is unpinned) and README.md, both or neither. */
async function writeKitFiles(dir: string, kit: KitContent, force: boolean): Promise<string[]> {
  const kitYaml = kit.layers[0].bytes;
  const { kitYamlWithImage } = await import("./pinned-yaml.js");
  // The titles were checked to be exactly these names, so nothing can land outside dir.
  const files: [string, Uint8Array | string][] = [
    [path.join(dir, KIT_YAML_TITLE), kit.kit.unpinned ? kitYaml : kitYamlWithImage(kitYaml.toString("utf8"), kit.kit.image)],
    [path.join(dir, README_TITLE), kit.layers[1].bytes],
  ];
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new IoError(`cannot create ${dir}: ${(err as Error).message}`, { cause: err });
  }
  await writeFilesAtomic(files, { overwrite: force, hint: "pass --force to replace it" });
  return files.map(([file]) => file);
}

