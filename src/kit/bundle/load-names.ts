/**
 * What each entry of a bundle is loaded as: its original full reference,
 * from its ref name. kit save writes full references (`REGISTRY/REPO:TAG` or
 * `REGISTRY/REPO@DIGEST`); another tool's layout may name entries by a bare
 * tag (oras backup, `skopeo copy … oci:DIR:TAG`) or not at all, and those
 * need `repository` (REGISTRY/REPO) to say where they came from. An untagged
 * entry that another entry's graph reaches travels with that one.
 */
import {
  formatReference,
  InvalidReferenceError,
  isValidTag,
  namesRegistryHost,
  parseReference,
  type RegistryReference,
  UsageError,
} from "../../oras/content.js";
import type { BundleEntryKind } from "./format.js";
import type { VerifiedBundle, VerifiedRoot } from "./verify.js";

export interface NamedRoot {
  root: VerifiedRoot;
  kind: BundleEntryKind;
  /** Where it came from: a tag, a digest, or both. */
  original: RegistryReference;
}

const REPOSITORY_HINT = "pass --repository REGISTRY/REPO to name the repository the bundle's entries came from";

/** The repository of `--repository`: REGISTRY/REPO, no tag or digest. */
export function parseOriginRepository(text: string): RegistryReference {
  if (!namesRegistryHost(text)) {
    throw new UsageError(`invalid --repository "${text}": write the full repository, REGISTRY/REPO (such as ghcr.io/org/app)`);
  }
  const ref = parseReference(text);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(`invalid --repository "${text}": it names a repository, without a tag or digest`);
  }
  return ref;
}

/** `referrers: false` leaves out the bundle's attachments (signatures, SBOMs, referrers of its kits and images). */
export function nameRoots(bundle: VerifiedBundle, repository: RegistryReference | undefined, opts: { referrers?: boolean } = {}): NamedRoot[] {
  const reachable = new Set<string>();
  for (const root of bundle.roots) {
    for (const node of root.nodes) if (node.descriptor.digest !== root.descriptor.digest) reachable.add(node.descriptor.digest);
  }
  const named: NamedRoot[] = [];
  for (const [i, root] of bundle.roots.entries()) {
    // An attachment stays one even when it is a kit (a kit attached to its image, under the image's repository).
    const kind: BundleEntryKind = root.kind === "attachment" ? "attachment" : root.content !== undefined ? "kit" : "image";
    if (kind === "attachment" && opts.referrers === false) continue;
    const entry = `index.json entry ${i + 1} (${root.reference === undefined ? root.descriptor.digest : JSON.stringify(root.reference)}) of ${bundle.file.where}`;
    const digest = root.descriptor.digest;
    if (root.reference === undefined) {
      if (reachable.has(digest)) continue;
      if (repository === undefined) throw new UsageError(`${entry} has no reference name, so kit cannot tell where it belongs`, { hint: REPOSITORY_HINT });
      named.push({ root, kind, original: { ...repository, digest } });
      continue;
    }
    if (namesRegistryHost(root.reference)) {
      let original: RegistryReference;
      try {
        original = parseReference(root.reference);
      } catch (err) {
        throw new InvalidReferenceError(`${entry}: its reference name is not a valid reference: ${(err as Error).message}`, { cause: err });
      }
      if (original.tag === undefined && original.digest === undefined) {
        throw new InvalidReferenceError(`${entry}: its reference name ${root.reference} has neither a tag nor a digest`);
      }
      if (original.digest !== undefined && original.digest !== digest) {
        throw new InvalidReferenceError(`${entry}: its reference name says ${original.digest}, but the entry is ${digest}`);
      }
      named.push({ root, kind, original });
      continue;
    }
    if (isValidTag(root.reference)) {
      if (repository === undefined) {
        throw new UsageError(`${entry} is named by the tag "${root.reference}" alone, so kit cannot tell which repository it belongs to`, { hint: REPOSITORY_HINT });
      }
      named.push({ root, kind, original: { ...repository, tag: root.reference } });
      continue;
    }
    throw new InvalidReferenceError(`${entry}: its reference name is neither a full reference (REGISTRY/REPO:TAG) nor a tag`, {
      hint: "load such a layout with skopeo or oras, naming each image yourself",
    });
  }
  return named;
}

/** A named root's reference as text: `REGISTRY/REPO:TAG` when it has a tag, else `REGISTRY/REPO@DIGEST`. */
export function originalName(named: NamedRoot): string {
  const ref = named.original;
  return formatReference(ref.tag !== undefined ? { ...ref, digest: undefined } : { ...ref, digest: named.root.descriptor.digest });
}
