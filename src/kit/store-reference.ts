/**
 * How references name entries of the local store: a full registry reference
 * (`ghcr.io/org/famiglia-kit:1.0.0`, `…@sha256:…`) or a short one naming the
 * kit by its `name` (`famiglia`, `famiglia:1.0.0`, `famiglia@sha256:…`); see
 * reference.ts.
 */
import { formatReference, InvalidReferenceError, parseReference, parseTargetReference, type RegistryReference, repositoryName } from "../oras/content.js";
import { parseKitReference, type KitReference } from "./reference.js";

/** The entry fields a reference is matched against. */
interface MatchableEntry {
  reference: string;
  digest: string;
  name: string;
}

/**
 * The name an entry is recorded under: `REGISTRY/REPO:TAG` or
 * `REGISTRY/REPO@DIGEST` (a reference with both is recorded by its tag; the
 * digest must be the manifest's). Docker Hub names are spelled out.
 */
export function recordedReference(reference: string | RegistryReference, manifestDigest: string): string {
  const ref = typeof reference === "string" ? parseReference(reference) : reference;
  const text = typeof reference === "string" ? reference : formatReference(reference);
  if (ref.tag === undefined && ref.digest === undefined) {
    throw new InvalidReferenceError(`cannot record "${text}" in the local store: it has neither a tag nor a digest`);
  }
  if (ref.digest !== undefined && ref.digest !== manifestDigest) {
    throw new InvalidReferenceError(`cannot record "${text}" in the local store: it names ${ref.digest}, but the kit is ${manifestDigest}`);
  }
  return formatReference(ref.tag !== undefined ? { ...ref, digest: undefined } : ref);
}

/** `REGISTRY/REPO` (or `oci:PATH`) of the reference an entry is recorded under. */
export function recordedRepository(entry: MatchableEntry): string {
  return formatReference({ ...parseTargetReference(entry.reference), tag: undefined, digest: undefined });
}

/**
 * A predicate selecting the entries `reference` names:
 * - short: the kit name, plus the tag of the entry's reference and/or its digest when given;
 * - `REGISTRY/REPO:TAG`: that exact entry (given as text, also an entry recorded under exactly that text);
 * - `REGISTRY/REPO@DIGEST`: every entry of REPO whose digest it is (with a tag too: only entries of that tag or of none);
 * - `REGISTRY/REPO`: every entry of REPO.
 * An `oci:` layout reference names nothing in the store and is refused.
 */
export function referenceMatcher(reference: string | KitReference): (entry: MatchableEntry) => boolean {
  const text = typeof reference === "string" ? reference : undefined;
  const ref = typeof reference === "string" ? parseKitReference(reference) : reference;
  if (ref.kind === "store") {
    return (e) =>
      e.name === ref.name && (ref.digest === undefined || e.digest === ref.digest) && (ref.tag === undefined || parsedEntryReference(e)?.tag === ref.tag);
  }
  if (ref.kind === "layout") {
    throw new InvalidReferenceError(`"${text ?? formatReference(ref)}" names an OCI layout, not a registry reference`);
  }
  const repo = repositoryName(ref);
  if (ref.digest === undefined && ref.tag === undefined) {
    return (e) => entryRepository(e) === repo;
  }
  if (ref.digest === undefined) {
    const exact = formatReference(ref);
    return (e) => e.reference === exact || e.reference === text;
  }
  return (e) => {
    if (e.digest !== ref.digest || entryRepository(e) !== repo) return false;
    const tag = parsedEntryReference(e)?.tag;
    return ref.tag === undefined || tag === undefined || tag === ref.tag;
  };
}

function entryRepository(e: MatchableEntry): string | undefined {
  const ref = parsedEntryReference(e);
  return ref ? repositoryName(ref) : undefined;
}

/** Entries written by other tools may carry names that are not registry references; those match only exactly. */
function parsedEntryReference(e: MatchableEntry): RegistryReference | undefined {
  try {
    return parseReference(e.reference);
  } catch {
    return undefined;
  }
}
