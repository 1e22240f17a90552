/**
 * The trust policy of the config file (spec/config.md, `trust:`): which
 * kits must carry a signature by which keys before they are pulled, run or
 * served from the store. Scopes are reference patterns; the most specific
 * one matching a kit's repository decides, as containers-policy.json's
 * scopes do. This module only matches: verifying is signature/policy.ts,
 * loaded when a scope requires it, so a pull without a policy loads no
 * signature code.
 */
import { InvalidReferenceError, parseMirrorLocation, parseReference, parseTargetReference, type RegistryReference } from "../oras/content.js";

export interface TrustPattern {
  /** As written in the config file. */
  text: string;
  /** `*`: every registry reference; `prefix`: every repository under `registry/path`; `repository`: that one. */
  kind: "any" | "prefix" | "repository";
  /** Normalised registry host (absent for `any`). */
  registry?: string;
  /** Repository path (exact for `repository`; the prefix, possibly "", for `prefix`). */
  path: string;
}

export interface TrustScope {
  pattern: TrustPattern;
  /** Absolute paths of the public key files (PEM SubjectPublicKeyInfo, as cosign.pub) whose signatures are trusted. */
  keys: readonly string[];
  /** Whether a kit in this scope must carry a signature that verifies with one of `keys`. */
  signed: boolean;
  /** The config file it comes from, for messages. */
  file?: string;
}

export interface TrustPolicy {
  scopes: readonly TrustScope[];
}

const HINT = 'a trust pattern is "*", "HOST[:PORT][/PATH]/*" (every repository under it) or "HOST[:PORT]/PATH" (one repository)';

export function parseTrustPattern(text: string): TrustPattern {
  const input = text.trim();
  if (input === "*") return { text, kind: "any", path: "" };
  const wildcard = input.endsWith("/*");
  const body = wildcard ? input.slice(0, -2) : input;
  if (body.includes("*")) throw new InvalidReferenceError(`invalid trust pattern "${text}": "*" may only stand alone or as the last path component`, { hint: HINT });
  if (wildcard) {
    let loc;
    try {
      loc = parseMirrorLocation(body);
    } catch (err) {
      throw new InvalidReferenceError(`invalid trust pattern "${text}": ${(err as Error).message.replace(/^invalid mirror "[^"]*": /, "")}`, { hint: HINT, cause: err });
    }
    return { text, kind: "prefix", registry: loc.registry, path: loc.prefix };
  }
  if (!body.includes("/")) {
    throw new InvalidReferenceError(`invalid trust pattern "${text}": it names a whole registry`, { hint: `write "${body}/*" for every repository in it` });
  }
  let ref: RegistryReference;
  try {
    ref = parseReference(body);
  } catch (err) {
    throw new InvalidReferenceError(`invalid trust pattern "${text}": ${(err as Error).message}`, { hint: HINT, cause: err });
  }
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new InvalidReferenceError(`invalid trust pattern "${text}": a pattern names repositories, not a tag or digest`, { hint: "trust is given to a repository's kits, whatever their tag" });
  }
  return { text, kind: "repository", registry: ref.registry, path: ref.repository };
}

/** The key two spellings of one pattern share (`docker.io/alpine` and `index.docker.io/library/alpine`). */
export function trustPatternKey(p: TrustPattern): string {
  return p.kind === "any" ? "*" : p.kind === "prefix" ? `${p.registry}/${p.path}${p.path === "" ? "" : "/"}*` : `${p.registry}/${p.path}`;
}

/** How specific a pattern is when it matches: one repository, then the longest prefix, then `*`. */
function rank(p: TrustPattern): number {
  if (p.kind === "any") return 0;
  if (p.kind === "repository") return Number.MAX_SAFE_INTEGER;
  return 1 + (p.path === "" ? 0 : p.path.split("/").length);
}

export function trustPatternMatches(p: TrustPattern, ref: { registry: string; repository: string }): boolean {
  if (p.kind === "any") return true;
  if (p.registry !== ref.registry) return false;
  if (p.kind === "repository") return ref.repository === p.path;
  return p.path === "" || ref.repository.startsWith(`${p.path}/`);
}

/** The scope that decides for a repository: the most specific matching one; undefined when none matches (no policy applies). */
export function trustScopeFor(policy: TrustPolicy | undefined, ref: { registry: string; repository: string }): TrustScope | undefined {
  let best: TrustScope | undefined;
  for (const scope of policy?.scopes ?? []) {
    if (!trustPatternMatches(scope.pattern, ref)) continue;
    if (best === undefined || rank(scope.pattern) > rank(best.pattern)) best = scope;
  }
  return best;
}

/** The scope deciding for a repository named as text, `REGISTRY/REPO` (a store entry's, a signature identity); none for `oci:` names. */
export function trustScopeForRepository(policy: TrustPolicy | undefined, repository: string): TrustScope | undefined {
  if (policy === undefined || policy.scopes.length === 0) return undefined;
  const ref = parseTargetReference(repository);
  return ref.kind === "registry" ? trustScopeFor(policy, ref) : undefined;
}

/** What `kit pull --json` says of the policy that applied. */
export interface TrustOutcome {
  /** The pattern of the scope that decided, as written. */
  scope: string;
  /** The config file holding it. */
  file?: string;
  /** Whether the scope requires a signature. */
  signed: boolean;
  /** The signatures that verified (none when the scope requires none). */
  verified: Array<{ form: string; key: string; manifest: string }>;
}
