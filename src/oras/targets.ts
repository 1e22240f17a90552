/**
 * Opening a parsed reference as a Target, and resolving what it names. A
 * registry repository and an OCI layout come out interchangeable, so callers
 * (copy, resolve, the kit layer) never branch on the kind.
 */
import type { Descriptor } from "./descriptor.js";
import { MAX_MANIFEST_BYTES } from "./manifest.js";
import { DigestMismatchError, InvalidReferenceError } from "./errors.js";
import { OciLayout } from "./layout/store.js";
import { formatReference, type LayoutReference, type RegistryReference, type TargetReference } from "./reference.js";
import { RemoteRepository } from "./remote/repository.js";
import type { RemoteOptions } from "./remote/registry-client.js";
import { fetchAll } from "./verify.js";

export type OpenedTarget = { kind: "registry"; ref: RegistryReference; target: RemoteRepository } | { kind: "layout"; ref: LayoutReference; target: OciLayout };

export interface OpenTargetOptions {
  remote?: RemoteOptions;
  /** Create the layout directory when it does not exist (destinations). */
  create?: boolean;
}

export async function openTarget(ref: TargetReference, opts: OpenTargetOptions = {}): Promise<OpenedTarget> {
  if (ref.kind === "registry") return { kind: "registry", ref, target: new RemoteRepository(ref, opts.remote ?? {}) };
  return { kind: "layout", ref, target: await OciLayout.open(ref.path, { create: opts.create ?? false }) };
}

/**
 * The manifest a reference names. With both a tag and a digest the digest
 * wins, but a tag that now resolves to a different digest is an error: the
 * user named the same thing twice and the registry no longer agrees.
 */
export async function resolveTarget(opened: OpenedTarget, opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
  const { ref, target } = opened;
  const name = formatReference(ref);
  if (ref.digest !== undefined) {
    const byDigest = await target.resolve(ref.digest, opts);
    if (ref.tag !== undefined) {
      const byTag = await target.resolve(ref.tag, opts);
      if (byTag.digest !== ref.digest) {
        // The reference was fine when written; the registry moved the tag since. That is an integrity question.
        throw new DigestMismatchError(ref.digest, byTag.digest, `tag "${ref.tag}" of ${formatReference({ ...ref, tag: undefined, digest: undefined })} (the tag moved)`, {
          hint: "drop the tag to use the digest, or drop the digest to follow the tag",
        });
      }
    }
    return byDigest;
  }
  if (ref.tag === undefined) {
    throw new InvalidReferenceError(`${name} names no tag or digest`, { hint: `use ${name}:TAG or ${name}@sha256:…` });
  }
  return target.resolve(ref.tag, opts);
}

/**
 * The manifest a reference names, bytes verified. On a registry a tag costs
 * one GET (checked against Docker-Content-Digest) instead of HEAD + GET.
 */
export async function fetchManifestOf(opened: OpenedTarget, opts: { signal?: AbortSignal } = {}): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
  if (opened.kind === "registry" && (opened.ref.tag === undefined || opened.ref.digest === undefined)) {
    const named = opened.ref.digest ?? opened.ref.tag;
    if (named !== undefined) return opened.target.fetchManifest(named, opts);
  }
  const descriptor = await resolveTarget(opened, opts);
  const bytes = await fetchAll(opened.target, descriptor, { limit: MAX_MANIFEST_BYTES, what: `manifest ${descriptor.digest} from ${opened.target.name}`, ...opts });
  return { descriptor, bytes };
}
