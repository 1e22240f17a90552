/**
 * The config file's mirror map in the formats the hosts that pull base
 * images read, so they use the same mirrors kit does: containerd's
 * `hosts.toml` (one per registry, containerd docs/hosts.md) and a
 * containers-registries.conf(5) fragment (podman, skopeo, CRI-O).
 * Pure text; the caller writes it.
 */
import { formatMirrorLocation, registryEndpoint, type MirrorLocation, type RegistryMirrorPolicy } from "../oras/content.js";
import { hostOptions, registryScheme } from "../oras/remote/index.js";
import type { KitSettings } from "./config.js";

export type ExportFormat = "containerd" | "registries.conf";

export const EXPORT_FORMATS: readonly ExportFormat[] = ["containerd", "registries.conf"];

export interface HostsFile {
  /** `HOST[:PORT]/hosts.toml`, relative to containerd's config_path (/etc/containerd/certs.d). */
  path: string;
  content: string;
}

/** Values here are host names and repository paths (ASCII, no quote or backslash) or file paths: JSON's escapes are TOML's. */
function tomlString(text: string): string {
  return JSON.stringify(text);
}

/** How kit reaches `host`: the scheme and whether certificates are checked, per the config and the loopback rule. */
function reach(settings: KitSettings, host: string): { scheme: "http:" | "https:"; insecure: boolean } {
  const options = hostOptions({ registries: settings.registries }, host);
  return { scheme: registryScheme(host, options.plainHttp), insecure: options.insecure === true };
}

/** containerd's hosts.toml for each registry the config names. */
export function containerdHostsFiles(settings: KitSettings): HostsFile[] {
  return [...settings.registries.keys()].map((registry) => ({
    path: `${registry}/hosts.toml`,
    content: hostsToml(settings, registry, settings.mirrors.get(registry)),
  }));
}

function hostsToml(settings: KitSettings, registry: string, policy: RegistryMirrorPolicy | undefined): string {
  const lines = [`# containerd hosts.toml for ${registry}, written by kit config export${settings.file !== undefined ? ` from ${tomlString(settings.file)}` : ""}.`];
  const mirrors = policy?.mirrors ?? [];
  const fallback = policy?.fallback ?? true;
  // containerd tries the [host] tables in order, then `server`; with no fallback the last mirror is the server, so the registry is never asked.
  const hosts = fallback ? mirrors : mirrors.slice(0, -1);
  const capabilities = policy?.pullFromMirror === "digest-only" ? ["pull"] : ["pull", "resolve"];
  if (policy?.pullFromMirror === "tag-only") lines.push("# pull_from_mirror: tag-only has no containerd equivalent: containerd pulls digests from these mirrors too.");
  if (fallback) {
    const upstream = reach(settings, registry);
    lines.push(`server = ${tomlString(`${upstream.scheme}//${registryEndpoint(registry)}`)}`);
    if (upstream.insecure) lines.push("skip_verify = true");
  } else {
    lines.push(`# fallback: false: the last mirror stands in for ${registry}, which is never contacted.`);
    lines.push(...mirrorFields(settings, mirrors[mirrors.length - 1]!, capabilities, "server = "));
  }
  for (const mirror of hosts) lines.push("", ...mirrorFields(settings, mirror, capabilities, "[host."));
  return `${lines.join("\n")}\n`;
}

/** A mirror as `server = …` (with its fields at the top level) or as a `[host."…"]` table; a prefix is a path below /v2, so override_path. */
function mirrorFields(settings: KitSettings, mirror: MirrorLocation, capabilities: string[], as: "server = " | "[host."): string[] {
  const { scheme, insecure } = reach(settings, mirror.registry);
  const url = `${scheme}//${registryEndpoint(mirror.registry)}${mirror.prefix === "" ? "" : `/v2/${mirror.prefix}`}`;
  const indent = as === "[host." ? "  " : "";
  const fields = [`capabilities = [${capabilities.map(tomlString).join(", ")}]`];
  if (mirror.prefix !== "") fields.push("override_path = true");
  if (insecure) fields.push("skip_verify = true");
  return [as === "[host." ? `[host.${tomlString(url)}]` : `server = ${tomlString(url)}`, ...fields.map((f) => indent + f)];
}

/** A containers-registries.conf(5) fragment: one [[registry]] per registry the config names, its mirrors as [[registry.mirror]]. */
export function registriesConfFragment(settings: KitSettings): string {
  const out = [
    `# containers-registries.conf(5) fragment written by kit config export${settings.file !== undefined ? ` from ${tomlString(settings.file)}` : ""};`,
    "# put it in /etc/containers/registries.conf.d/ or pass it to skopeo --registries-conf.",
  ];
  for (const registry of settings.registries.keys()) {
    const policy = settings.mirrors.get(registry);
    const mirrors = policy?.mirrors ?? [];
    const fallback = policy?.fallback ?? true;
    // registries.conf always ends with the location: with no fallback the last mirror is the location, so the registry is never asked.
    const location = fallback ? { registry, prefix: "" } : mirrors[mirrors.length - 1]!;
    out.push("", "[[registry]]");
    if (!fallback) out.push(`# fallback: false: the last mirror stands in for ${registry}; a tag is resolved there whatever pull-from-mirror says.`);
    out.push(`prefix = ${tomlString(registry)}`, `location = ${tomlString(formatMirrorLocation(location))}`, `insecure = ${insecureFor(settings, location.registry)}`);
    for (const mirror of fallback ? mirrors : mirrors.slice(0, -1)) {
      out.push("", "[[registry.mirror]]", `location = ${tomlString(formatMirrorLocation(mirror))}`, `insecure = ${insecureFor(settings, mirror.registry)}`);
      if (policy?.pullFromMirror !== undefined && policy.pullFromMirror !== "all") out.push(`pull-from-mirror = ${tomlString(policy.pullFromMirror)}`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** registries.conf's `insecure` allows both plain HTTP and unverified TLS: true when kit would use either for the host. */
function insecureFor(settings: KitSettings, host: string): boolean {
  const { scheme, insecure } = reach(settings, host);
  return scheme === "http:" || insecure;
}
