/**
 * Where a mirror keeps a registry's repositories: `HOST[:PORT][/PREFIX]`, as
 * containers-registries.conf(5) writes a mirror's `location`. A repository
 * keeps its whole path under the prefix: `ghcr.io/org/app:1` mirrored at
 * `m.local:5000/airgap` is `m.local:5000/airgap/org/app:1`, and Docker Hub's
 * `docker.io/library/alpine` is `m.local:5000/airgap/library/alpine`.
 */
import { InvalidReferenceError } from "./errors.js";
import { checkReferenceLength, isValidRepository, parseRegistryHost, type RegistryReference } from "./reference.js";

export interface MirrorLocation {
  /** Normalised `host[:port]`, as in a RegistryReference. */
  registry: string;
  /** Repository path the mirrored repositories live under; "" when none, no leading or trailing slash. */
  prefix: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Parse `HOST[:PORT][/PREFIX]`; InvalidReferenceError says what is wrong. */
export function parseMirrorLocation(text: string): MirrorLocation {
  checkReferenceLength(text);
  const bad = (why: string) => new InvalidReferenceError(`invalid mirror location "${text}": ${why}`);
  const trimmed = text.trim();
  if (trimmed === "") throw bad("expected HOST[:PORT][/PREFIX], such as mirror.example:5000/airgap");
  if (SCHEME.test(trimmed)) throw bad(`a mirror location has no URL scheme; write ${trimmed.replace(SCHEME, "")}`);
  if (trimmed.includes("@")) throw bad("a mirror location names a place for repositories, not a digest");
  const body = trimmed.replace(/\/+$/, "");
  const slash = body.indexOf("/");
  const host = slash < 0 ? body : body.slice(0, slash);
  const prefix = slash < 0 ? "" : body.slice(slash + 1);
  if (host === "") throw bad("it must start with a registry host");
  let registry: string;
  try {
    registry = parseRegistryHost(host);
  } catch {
    throw bad(`"${host}" is not a registry host (a host has a "." or a ":PORT", or is localhost)`);
  }
  if (prefix !== "") {
    if (/:[^/]*$/.test(prefix)) throw bad("a mirror location names a place for repositories, not a tag");
    if (!isValidRepository(prefix)) throw bad(`"${prefix}" is not a repository path (lowercase letters, digits and single separators . _ __ -, between slashes)`);
  }
  return { registry, prefix };
}

/** The text parseMirrorLocation reads back to the same location. */
export function formatMirrorLocation(loc: MirrorLocation): string {
  return loc.prefix === "" ? loc.registry : `${loc.registry}/${loc.prefix}`;
}

/** Where `ref` lives at the mirror: its repository under the prefix, tag and digest kept. */
export function mirroredReference(ref: RegistryReference, loc: MirrorLocation): RegistryReference {
  const mirrored: RegistryReference = { kind: "registry", registry: loc.registry, repository: loc.prefix === "" ? ref.repository : `${loc.prefix}/${ref.repository}` };
  if (ref.tag !== undefined) mirrored.tag = ref.tag;
  if (ref.digest !== undefined) mirrored.digest = ref.digest;
  return mirrored;
}
