/**
 * How references name entries of the local store: a full registry reference
 * (`ghcr.io/org/famiglia-kit:1.0.0`, `…@sha256:…`) or a short one naming the
 * kit by its `name` (`famiglia`, `famiglia:1.0.0`, `famiglia@sha256:…`), which
 * is how aegisd names kits. A short reference has no slash, so it can never be
 * mistaken for a registry path; Docker Hub images must be written out in full.
 */
import { InvalidReferenceError } from "../oras/errors.js";
import { formatReference, parseReference, repositoryName, type RegistryReference } from "../oras/reference.js";
import { isKitName } from "./format.js";

export interface ShortKitReference {
  name: string;
  tag?: string;
  digest?: string;
}

/** The entry fields a reference is matched against. */
export interface MatchableEntry {
  reference: string;
  digest: string;
  name: string;
}

/**
 * True for `NAME`, `NAME:TAG`, `NAME@DIGEST` (and `NAME:TAG@DIGEST`) where
 * NAME is a kit name and there is no slash. A text that looks short but has a
 * malformed tag or digest is false, so it fails as a registry reference with
 * that reference parser's message.
 */
export function isShortKitReference(text: string): boolean {
  try {
    parseShortKitReference(text);
    return true;
  } catch {
    return false;
  }
}

/** Parse a short reference; InvalidReferenceError names what is wrong. */
export function parseShortKitReference(text: string): ShortKitReference {
  if (text.includes("/")) {
    throw new InvalidReferenceError(`"${text}" is not a short kit reference: it names a registry repository (it has a "/")`);
  }
  const name = text.split(/[:@]/, 1)[0]!;
  if (!isKitName(name)) {
    throw new InvalidReferenceError(`"${text}" is not a short kit reference: "${name}" is not a kit name (lowercase letters, digits and "-")`);
  }
  // NAME[:TAG][@DIGEST] is what the registry grammar reads as a Docker Hub library name: let it check tag and digest.
  const ref = parseReference(text);
  const short: ShortKitReference = { name };
  if (ref.tag !== undefined) short.tag = ref.tag;
  if (ref.digest !== undefined) short.digest = ref.digest;
  return short;
}

/**
 * The name an entry is recorded under: `REGISTRY/REPO:TAG` or
 * `REGISTRY/REPO@DIGEST` (a reference with both is recorded by its tag; the
 * digest must be the manifest's). Docker Hub names are spelled out.
 */
export function recordedReference(text: string, manifestDigest: string): string {
  const ref = parseReference(text);
  if (ref.tag === undefined && ref.digest === undefined) {
    throw new InvalidReferenceError(`cannot record "${text}" in the local store: it has neither a tag nor a digest`);
  }
  if (ref.digest !== undefined && ref.digest !== manifestDigest) {
    throw new InvalidReferenceError(`cannot record "${text}" in the local store: it names ${ref.digest}, but the kit is ${manifestDigest}`);
  }
  return formatReference(ref.tag !== undefined ? { ...ref, digest: undefined } : ref);
}

/**
 * A predicate selecting the entries `reference` names:
 * - short: the kit name, plus the tag of the entry's reference and/or its digest when given;
 * - `REGISTRY/REPO:TAG`: that exact entry;
 * - `REGISTRY/REPO@DIGEST`: every entry of REPO whose digest it is (with a tag too: only entries of that tag or of none);
 * - `REGISTRY/REPO`: every entry of REPO.
 */
export function referenceMatcher(reference: string): (entry: MatchableEntry) => boolean {
  if (isShortKitReference(reference)) {
    const short = parseShortKitReference(reference);
    return (e) =>
      e.name === short.name &&
      (short.digest === undefined || e.digest === short.digest) &&
      (short.tag === undefined || parsedEntryReference(e)?.tag === short.tag);
  }
  const ref = parseReference(reference);
  const repo = repositoryName(ref);
  if (ref.digest === undefined && ref.tag === undefined) {
    return (e) => entryRepository(e) === repo;
  }
  if (ref.digest === undefined) {
    const exact = formatReference(ref);
    return (e) => e.reference === exact || e.reference === reference;
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
