/**
 * Resolving a tag and/or digest within one target: the rule `resolve`, `copy`
 * and the kit layer share for a reference that names both.
 */
import type { Descriptor } from "./descriptor.js";
import { DigestMismatchError, InvalidReferenceError } from "./errors.js";
import type { ManifestSelector } from "./reference.js";
import type { Resolver } from "./target.js";

/**
 * The manifest `selector` names in `target` (called `name` in messages:
 * `registry/repo` or `oci:PATH`). With both a tag and a digest the digest
 * wins, but a tag that now resolves to a different digest is an error: the
 * user named the same thing twice and the target no longer agrees.
 */
export async function resolveSelector(target: Resolver, selector: ManifestSelector, name: string, opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
  const { tag, digest } = selector;
  if (digest !== undefined) {
    const byDigest = await target.resolve(digest, opts);
    if (tag !== undefined) {
      const byTag = await target.resolve(tag, opts);
      if (byTag.digest !== digest) {
        // The reference was fine when written; the target moved the tag since. That is an integrity question.
        throw new DigestMismatchError(digest, byTag.digest, `tag "${tag}" of ${name} (the tag moved)`, {
          hint: "drop the tag to use the digest, or drop the digest to follow the tag",
        });
      }
    }
    return byDigest;
  }
  if (tag === undefined) {
    throw new InvalidReferenceError(`${name} names no tag or digest`, { hint: `use ${name}:TAG or ${name}@sha256:…` });
  }
  return target.resolve(tag, opts);
}
