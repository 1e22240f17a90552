/**
 * Where a mirror keeps a registry's repositories: `HOST[:PORT][/PREFIX]`.
 * A repository keeps its path under the prefix (the mapping of
 * containers-registries.conf mirrors and of `skopeo sync`), so
 * `ghcr.io/org/app:1` mirrored at `m.local:5000/airgap` is
 * `m.local:5000/airgap/org/app:1`. The source registry's host is dropped:
 * one prefix per upstream registry keeps two upstreams apart.
 */
import { InvalidReferenceError } from "./errors.js";
import { checkReferenceLength, namesRegistryHost, parseReference, type RegistryReference } from "./reference.js";

export interface MirrorLocation {
  /** Normalised host[:port]. */
  registry: string;
  /** Repository path prefix without leading or trailing slash; "" when none. */
  prefix: string;
}

const HINT = 'write a mirror as HOST[:PORT][/PREFIX], for example "mirror.local:5000/airgap"';

export function parseMirrorLocation(text: string): MirrorLocation {
  checkReferenceLength(text);
  const input = text.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw new InvalidReferenceError(`invalid mirror "${text}": no scheme is written (plain HTTP is a per-registry setting)`, { hint: HINT });
  }
  if (input.includes("@")) throw new InvalidReferenceError(`invalid mirror "${text}": a mirror names no digest`, { hint: HINT });
  const trimmed = input.replace(/\/+$/, "");
  if (trimmed === "" || !namesRegistryHost(`${trimmed}/x`)) {
    throw new InvalidReferenceError(`invalid mirror "${text}": it must start with a registry host (a name with a dot or port, or localhost)`, { hint: HINT });
  }
  let parsed: RegistryReference;
  try {
    parsed = parseReference(`${trimmed}/x`);
  } catch (err) {
    throw new InvalidReferenceError(`invalid mirror "${text}": ${(err as Error).message}`, { hint: HINT, cause: err });
  }
  if (parsed.tag !== undefined) throw new InvalidReferenceError(`invalid mirror "${text}": a mirror names no tag`, { hint: HINT });
  // The prefix as written: the parse above checked its syntax, but Docker Hub's "library/" rule must not add one.
  const slash = trimmed.indexOf("/");
  return { registry: parsed.registry, prefix: slash < 0 ? "" : trimmed.slice(slash + 1) };
}

export function formatMirrorLocation(loc: MirrorLocation): string {
  return loc.prefix === "" ? loc.registry : `${loc.registry}/${loc.prefix}`;
}

/** The reference as the mirror holds it: same path under the prefix, same tag and digest. */
export function mirroredReference(ref: RegistryReference, loc: MirrorLocation): RegistryReference {
  const mirrored: RegistryReference = { kind: "registry", registry: loc.registry, repository: loc.prefix === "" ? ref.repository : `${loc.prefix}/${ref.repository}` };
  if (ref.tag !== undefined) mirrored.tag = ref.tag;
  if (ref.digest !== undefined) mirrored.digest = ref.digest;
  return mirrored;
}
