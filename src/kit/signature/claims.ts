/**
 * What a signature says it signs, once its signature has verified: one or
 * more manifest digests, each with the repository (identity) it was signed
 * for, or none when the form leaves it out (cosign 3 bundles name the digest
 * alone).
 */
import { parseReference, repositoryName, UsageError } from "../../oras/content.js";

export interface SignedSubject {
  /** `sha256:…` */
  digest: string;
  /** `REGISTRY/REPO`, as the signature spells it; null when it names none. */
  identity: string | null;
}

export interface SignatureClaims {
  subjects: SignedSubject[];
}

/**
 * The repository a signature names, in the one spelling comparisons use:
 * cosign (go-containerregistry) writes Docker Hub as `index.docker.io/…`,
 * kit and containers/image as `docker.io/…`; the reference parser makes them
 * one. Text that is not a repository name is compared as it is.
 */
export function normalizeIdentity(identity: string): string {
  try {
    const ref = parseReference(identity);
    return ref.tag === undefined && ref.digest === undefined ? repositoryName(ref) : identity;
  } catch {
    return identity;
  }
}

/** `--identity REGISTRY/REPO` checked and spelled out (Docker Hub names in full); a tag or digest is refused. */
export function parseIdentity(text: string): string {
  const ref = parseReference(text);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(`the identity "${text}" names a tag or digest; it is a repository, REGISTRY/REPO`);
  }
  return repositoryName(ref);
}
