/**
 * References: `registry/repo[:tag][@digest]` for registries and
 * `oci:PATH[:TAG|@DIGEST]` for OCI image layouts on disk. Parsed once at the
 * edge; everything inward takes the parsed value. Where a command takes
 * either kind, Helm's `oci://HOST/REPO` is the registry reference Helm means;
 * nothing with `://` is ever a layout path.
 */
import { InvalidReferenceError, UnsupportedError } from "./errors.js";
import { parseDigest } from "./digest.js";
import { MAX_REFERENCE_LENGTH, MAX_REFERENCE_NAME_LENGTH } from "./limits.js";

export const DOCKER_HUB = "docker.io";
/** Where Docker Hub's API actually lives. */
export const DOCKER_HUB_ENDPOINT = "registry-1.docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]{1,5}$/;
/** `SCHEME://` at the start: a URL typed where a reference belongs. */
const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const HELM_OCI = "oci://";

export interface RegistryReference {
  kind: "registry";
  /** Normalised host[:port]; Docker Hub is always `docker.io`. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export interface LayoutReference {
  kind: "layout";
  /** Filesystem path of the OCI image layout directory. */
  path: string;
  tag?: string;
  digest?: string;
}

export type TargetReference = RegistryReference | LayoutReference;

/**
 * What names one manifest within a target: a tag, a digest, or both (the
 * digest wins; the tag must still point at it). Every TargetReference is one.
 */
export interface ManifestSelector {
  tag?: string;
  digest?: string;
}

/** True for a tag that the distribution grammar accepts. */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export function isValidRepository(repository: string): boolean {
  return repository.length > 0 && repository.split("/").every((c) => PATH_COMPONENT.test(c));
}

/** Parse `registry/repo[:tag][@digest]`, normalising Docker Hub names. */
export function parseReference(input: string): RegistryReference {
  const text = input.trim();
  if (text === "") throw new InvalidReferenceError("empty reference");
  checkReferenceLength(input);
  refuseUrl(text, input);
  if (text.startsWith("oci:")) {
    throw new InvalidReferenceError(`"${input}" names an OCI layout, not a registry reference`);
  }

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigestIn(digest, input);
  }

  // The tag is after the last colon that follows the last slash (a colon before it is a port).
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.indexOf(":", lastSlash + 1);
  if (colon >= 0 && !(lastSlash < 0 && rest.startsWith("["))) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw new InvalidReferenceError(
        `invalid tag "${tag}" in "${input}": a tag is 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"`,
      );
    }
  }

  const { registry, repository } = splitName(rest, input);
  if (rest.length > MAX_REFERENCE_NAME_LENGTH) {
    throw new InvalidReferenceError(`invalid reference "${input}": the name is longer than ${MAX_REFERENCE_NAME_LENGTH} characters`);
  }
  const ref: RegistryReference = { kind: "registry", registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/**
 * Text longer than any registry reference can be is refused before it is
 * parsed or quoted: messages quote the input, and it may be a 1 MiB field.
 */
export function checkReferenceLength(text: string): void {
  if (text.length > MAX_REFERENCE_LENGTH) {
    throw new InvalidReferenceError(`invalid reference "${text.slice(0, 60)}…": ${text.length} characters, more than a reference can have (${MAX_REFERENCE_LENGTH})`);
  }
}

/**
 * A URL scheme is never part of a reference. Helm's `oci://` is accepted by
 * parseTargetReference only; here (kit.yaml's image, say) it is refused too,
 * naming what to write instead.
 */
function refuseUrl(text: string, input: string): void {
  const scheme = URL_SCHEME.exec(text);
  if (scheme === null) return;
  const bare = text.slice(scheme[0].length);
  const hint = scheme[1]!.toLowerCase() === "http" ? "a registry that speaks only HTTP is reached with --plain-http (loopback registries use HTTP already)" : undefined;
  throw new InvalidReferenceError(`invalid reference "${input}": a reference has no URL scheme; write ${bare}`, hint ? { hint } : {});
}

/** A digest in a reference: malformed is an invalid reference, an unknown algorithm is unsupported (spec/cli.md). */
function checkDigestIn(digest: string, input: string): void {
  try {
    parseDigest(digest);
  } catch (err) {
    const message = `invalid reference "${input}": ${(err as Error).message}`;
    throw err instanceof UnsupportedError ? new UnsupportedError(message, { cause: err }) : new InvalidReferenceError(message, { cause: err });
  }
}

/** The first path component names a registry host (it has a dot or port, or is localhost or [IPv6]). */
function isHostComponent(first: string): boolean {
  return first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[");
}

/**
 * True when a registry reference as written names its registry; false when
 * the registry is implied (`my-kit:1`, `org/app` mean Docker Hub), so
 * messages can say which registry a short name went to.
 */
export function namesRegistryHost(input: string): boolean {
  const text = input.trim().startsWith(HELM_OCI) ? input.trim().slice(HELM_OCI.length) : input.trim();
  const slash = text.indexOf("/");
  return slash >= 0 && isHostComponent(text.slice(0, slash));
}

function splitName(name: string, input: string): { registry: string; repository: string } {
  if (name === "") throw new InvalidReferenceError(`invalid reference "${input}": missing repository name`);
  const slash = name.indexOf("/");
  const first = slash < 0 ? name : name.slice(0, slash);
  let registry: string;
  let repository: string;
  if (slash >= 0 && isHostComponent(first)) {
    registry = validateHost(first, input);
    repository = name.slice(slash + 1);
  } else {
    registry = DOCKER_HUB;
    repository = name;
  }
  if (DOCKER_HUB_ALIASES.has(registry.toLowerCase())) {
    registry = DOCKER_HUB;
    if (!repository.includes("/")) repository = `library/${repository}`;
  }
  for (const component of repository.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      const why = /[A-Z]/.test(component) ? "repository names must be lowercase" : "use lowercase letters, digits and single separators (. _ __ -)";
      throw new InvalidReferenceError(`invalid repository path component "${component}" in "${input}": ${why}`);
    }
  }
  return { registry, repository };
}

function validateHost(host: string, input: string): string {
  let hostname = host;
  let port: string | undefined;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0) throw new InvalidReferenceError(`invalid registry host "${host}" in "${input}": unclosed "["`);
    const ipv6 = host.slice(1, close);
    if (!/^[0-9a-fA-F:.]+$/.test(ipv6) || !ipv6.includes(":")) {
      throw new InvalidReferenceError(`invalid IPv6 registry host "${host}" in "${input}"`);
    }
    const after = host.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) throw new InvalidReferenceError(`invalid registry host "${host}" in "${input}"`);
      port = after.slice(1);
    }
    hostname = host.slice(0, close + 1).toLowerCase();
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) {
      port = host.slice(colon + 1);
      hostname = host.slice(0, colon);
    }
    if (!hostname.split(".").every((c) => DOMAIN_COMPONENT.test(c))) {
      throw new InvalidReferenceError(`invalid registry host "${host}" in "${input}"`);
    }
    hostname = hostname.toLowerCase();
  }
  if (port !== undefined) {
    if (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw new InvalidReferenceError(`invalid port "${port}" in registry host "${host}" of "${input}"`);
    }
    return `${hostname}:${Number(port)}`;
  }
  return hostname;
}

/** Parse `oci:PATH[:TAG|@DIGEST]`. `oci://…` is a registry (Helm's form), never a layout path. */
export function parseLayoutReference(input: string): LayoutReference {
  if (!input.startsWith("oci:")) throw new InvalidReferenceError(`"${input}" is not an OCI layout reference (oci:PATH[:TAG|@DIGEST])`);
  if (input.startsWith(HELM_OCI)) {
    throw new InvalidReferenceError(`"${input}" names a registry (Helm's oci://HOST/REPO form), not an OCI layout`, {
      hint: "an OCI layout is oci:PATH (oci:/abs/path, oci:./rel/path)",
    });
  }
  let rest = input.slice(4);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0 && /^[a-z0-9]+:[0-9a-f]+$/i.test(rest.slice(at + 1))) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigestIn(digest, input);
  } else {
    // Only a colon after the last path separator can start a tag, so `oci:C:\x` style paths and `oci:./a:b/c` work.
    const sep = Math.max(rest.lastIndexOf("/"), rest.lastIndexOf("\\"));
    const colon = rest.indexOf(":", sep + 1);
    if (colon > 0) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (!TAG.test(tag)) {
        throw new InvalidReferenceError(`invalid tag "${tag}" in "${input}"`);
      }
    }
  }
  if (rest === "") throw new InvalidReferenceError(`invalid reference "${input}": missing layout path after "oci:"`);
  const ref: LayoutReference = { kind: "layout", path: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/**
 * Either kind, chosen by the `oci:` prefix; `oci://HOST/REPO[:TAG][@DIGEST]`
 * is the registry reference Helm means by it (a host is required, as Helm
 * requires one).
 */
export function parseTargetReference(input: string): TargetReference {
  if (input.startsWith(HELM_OCI)) return parseHelmReference(input);
  return input.startsWith("oci:") ? parseLayoutReference(input) : parseReference(input);
}

function parseHelmReference(input: string): RegistryReference {
  const rest = input.slice(HELM_OCI.length);
  if (!namesRegistryHost(rest)) {
    throw new InvalidReferenceError(`invalid reference "${input}": oci:// must be followed by a registry host, as in oci://ghcr.io/org/kit:1.0.0`, {
      hint: "an OCI layout on disk is oci:PATH, without //",
    });
  }
  return parseReference(rest);
}

/** `registry/repo[:tag][@digest]`, with Docker Hub names spelled out. */
export function formatReference(ref: RegistryReference | LayoutReference): string {
  const base = ref.kind === "registry" ? `${ref.registry}/${ref.repository}` : `oci:${ref.path}`;
  return base + (ref.tag !== undefined ? `:${ref.tag}` : "") + (ref.digest !== undefined ? `@${ref.digest}` : "");
}

/** `registry/repo` */
export function repositoryName(ref: RegistryReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The host name actually dialled for a registry (Docker Hub's API host differs from its name). */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** Loopback registries may use plain HTTP without --plain-http. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(0, registry.indexOf("]") + 1) : registry.split(":")[0]!;
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * A registry host as users type it for login/logout: `ghcr.io`,
 * `localhost:5000`, `https://index.docker.io/v1/`. Normalised like the host
 * part of a reference (Docker Hub aliases become docker.io).
 */
export function parseRegistryHost(input: string): string {
  checkReferenceLength(input);
  const host = input.trim().replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  if (host === "") throw new InvalidReferenceError(`invalid registry "${input}": expected a host such as ghcr.io or localhost:5000`);
  const ref = parseReference(`${host}/x`);
  if (ref.registry === DOCKER_HUB && !DOCKER_HUB_ALIASES.has(host.toLowerCase())) {
    throw new InvalidReferenceError(`invalid registry "${input}": expected a host such as ghcr.io or localhost:5000`);
  }
  return ref.registry;
}
