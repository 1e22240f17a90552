/**
 * Checking a kit artifact someone else may have pushed: every rule of
 * spec/kit-artifact-v1.md, before anything is stored or returned. The
 * manifest's shape and the image annotation are checked in kit-manifest.ts;
 * the config's schema and its agreement with kit.yaml here.
 */
import { isDeepStrictEqual } from "node:util";
import { InvalidContentError, parseReference } from "../oras/content.js";
import { KitConfigSchema, type KitConfig } from "./artifact.js";
import { unpinnedKitError } from "./kit-manifest.js";
import { checkKitManifest, formatIssue } from "./load.js";

// The checks that need neither zod nor YAML live in kit-manifest.ts, so a read that needs only them loads neither.
export { checkImageAnnotation, checkKitManifestJson, type KitManifestView, NotAKitError } from "./kit-manifest.js";

export interface CheckKitOptions {
  allowUnpinned?: boolean;
}

/** Validate the config against the v1 schema and check it agrees with the kit.yaml layer. */
/** Parse the config and validate it against the v1 schema (plus `unpinned`). */
export function parseKitConfig(configBytes: Uint8Array, where: string): KitConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(configBytes).toString("utf8"));
  } catch {
    throw new InvalidContentError(`${where}: the kit config is not valid JSON`);
  }
  const parsed = KitConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new InvalidContentError(`${where}: the kit config is not a valid kit: ${first.path.join(".") || "(root)"}: ${first.message}`);
  }
  return parsed.data;
}

export function checkKitConfig(configBytes: Uint8Array, kitYamlBytes: Uint8Array, where: string, opts: CheckKitOptions = {}): KitConfig {
  const config = parseKitConfig(configBytes, where);
  const yaml = checkKitManifest(kitYamlBytes);
  if (!yaml.value) {
    throw new InvalidContentError(`${where}: its kit.yaml is not a valid kit: ${formatIssue("kit.yaml", yaml.issues[0]!)}`);
  }
  const { image: configImage, unpinned, ...configRest } = config;
  const { image: yamlImage, ...yamlRest } = yaml.value;
  if (!isDeepStrictEqual(configRest, yamlRest)) {
    const field = Object.keys({ ...configRest, ...yamlRest }).find((k) => !isDeepStrictEqual((configRest as Record<string, unknown>)[k], (yamlRest as Record<string, unknown>)[k]));
    throw new InvalidContentError(`${where}: the kit config disagrees with its kit.yaml layer${field ? ` (field ${field})` : ""}`);
  }
  if (unpinned) {
    if (configImage !== yamlImage) throw new InvalidContentError(`${where}: the kit config disagrees with its kit.yaml layer (field image)`);
    if (!opts.allowUnpinned) {
      throw unpinnedKitError(configImage, where);
    }
  } else {
    checkPinnedImage(configImage, yamlImage, where);
  }
  return config;
}

/** A pinned image names the same repository and tag as kit.yaml, and carries a digest (the one kit.yaml gave, if any). */
function checkPinnedImage(pinned: string, declared: string, where: string): void {
  const p = parseReference(pinned);
  const d = parseReference(declared);
  if (p.digest === undefined) throw new InvalidContentError(`${where}: the kit config's image ${pinned} is not pinned by digest`);
  const same = p.registry === d.registry && p.repository === d.repository && p.tag === d.tag && (d.digest === undefined || d.digest === p.digest);
  if (!same) throw new InvalidContentError(`${where}: the kit config's image ${pinned} does not match kit.yaml's image ${declared}`);
}
