/**
 * Checking a kit artifact someone else may have pushed: every rule of
 * spec/kit-artifact-v1.md, before anything is stored or returned.
 */
import { isDeepStrictEqual } from "node:util";
import { type Descriptor, InvalidContentError, isJsonObject, MediaType, parseManifestJson, parseReference, readDescriptor, SizeLimitError } from "../oras/content.js";
import {
  Annotation,
  KIT_ARTIFACT_TYPE,
  KIT_CONFIG_MEDIA_TYPE,
  KIT_YAML_MEDIA_TYPE,
  KIT_YAML_TITLE,
  KitConfigSchema,
  README_MEDIA_TYPE,
  README_TITLE,
  type KitConfig,
} from "./artifact.js";
import { checkKitManifest, formatIssue } from "./load.js";
import { MAX_KIT_CONFIG_BYTES, MAX_KIT_FILE_BYTES, MAX_README_BYTES } from "./limits.js";

export class NotAKitError extends InvalidContentError {}

export interface KitManifestView {
  /** Which form of spec/kit-artifact-v1.md the manifest is written in. */
  form: "oci-1.1" | "image-spec-1.0";
  /** The image the kit is attached to (`subject`), if any. */
  subject?: Descriptor;
  config: Descriptor;
  kitYaml: Descriptor;
  readme: Descriptor;
  annotations: Record<string, string>;
}

/** Check the manifest's shape; `where` names it in messages (a reference). */
export function checkKitManifestJson(bytes: Uint8Array, where: string): KitManifestView {
  const doc = parseManifestJson(bytes, `${where}: the manifest`);
  const mediaType = doc.mediaType;
  if (mediaType !== MediaType.ImageManifest) {
    const what = typeof mediaType === "string" ? mediaType : "a manifest without mediaType";
    throw new NotAKitError(`${where} is not a kit: it is ${what}, not an OCI image manifest with artifactType ${KIT_ARTIFACT_TYPE}`);
  }
  if (doc.schemaVersion !== 2) throw new InvalidContentError(`${where}: manifest schemaVersion must be 2`);
  const config = readDescriptor(doc.config, "config", where);
  // The image-spec 1.0 form (for registries that refuse OCI 1.1 fields) has no artifactType: the config type says it.
  const v10Form = doc.artifactType === undefined && config.mediaType === KIT_CONFIG_MEDIA_TYPE;
  if (doc.artifactType !== KIT_ARTIFACT_TYPE && !v10Form) {
    const actual = typeof doc.artifactType === "string" ? `artifactType ${doc.artifactType}` : "no artifactType (a container image?)";
    throw new NotAKitError(`${where} is not a kit: it has ${actual}, expected ${KIT_ARTIFACT_TYPE}`);
  }
  if (config.mediaType !== KIT_CONFIG_MEDIA_TYPE) {
    throw new NotAKitError(`${where} is not a kit: config media type is ${config.mediaType}, expected ${KIT_CONFIG_MEDIA_TYPE}`);
  }
  if (config.size > MAX_KIT_CONFIG_BYTES) throw new SizeLimitError(MAX_KIT_CONFIG_BYTES, `${where}: kit config (${config.size} bytes)`);
  const layers = Array.isArray(doc.layers) ? doc.layers : undefined;
  if (!layers || layers.length !== 2) {
    throw new InvalidContentError(`${where}: a kit has exactly two layers (kit.yaml, README.md), found ${layers ? layers.length : "none"}`);
  }
  const kitYaml = readDescriptor(layers[0], "layers[0]", where);
  const readme = readDescriptor(layers[1], "layers[1]", where);
  expectLayer(kitYaml, KIT_YAML_MEDIA_TYPE, KIT_YAML_TITLE, MAX_KIT_FILE_BYTES, `${where}: layer 0`);
  expectLayer(readme, README_MEDIA_TYPE, README_TITLE, MAX_README_BYTES, `${where}: layer 1`);
  const annotations: Record<string, string> = {};
  if (doc.annotations !== undefined) {
    if (!isJsonObject(doc.annotations)) throw new InvalidContentError(`${where}: manifest annotations must be an object of strings`);
    for (const [k, v] of Object.entries(doc.annotations)) {
      if (typeof v !== "string") throw new InvalidContentError(`${where}: annotation ${k} must be a string`);
      annotations[k] = v;
    }
  }
  const subject = doc.subject === undefined ? undefined : readDescriptor(doc.subject, "subject", where);
  return { form: v10Form ? "image-spec-1.0" : "oci-1.1", ...(subject ? { subject } : {}), config, kitYaml, readme, annotations };
}

function expectLayer(desc: Descriptor, mediaType: string, title: string, limit: number, where: string): void {
  if (desc.mediaType !== mediaType) throw new InvalidContentError(`${where}: media type ${desc.mediaType}, expected ${mediaType}`);
  const actual = desc.annotations?.[Annotation.Title];
  if (actual !== title) {
    // A title is a file name a puller may write; anything else (a path such as ../x) is refused outright.
    throw new InvalidContentError(`${where}: title annotation ${JSON.stringify(actual ?? null)}, expected "${title}"`);
  }
  if (desc.size > limit) throw new SizeLimitError(limit, `${where} (${title}, ${desc.size} bytes)`);
}

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
      throw new InvalidContentError(`${where}: the kit is unpinned (its image ${configImage} has no recorded digest)`, {
        hint: "pass --allow-unpinned to accept it, or push it again without --no-pin",
      });
    }
  } else {
    checkPinnedImage(configImage, yamlImage, where);
  }
  return config;
}

/**
 * The manifest's `dev.aegis.kit.image` annotation is what a reviewer sees
 * with any OCI tool; the config's image is what runs. A crafted kit must not
 * show one and run the other: when present, the annotation equals the
 * config's image, and an unpinned kit has none.
 */
export function checkImageAnnotation(annotations: Readonly<Record<string, string>>, kit: KitConfig, where: string): void {
  const annotated = annotations[Annotation.KitImage];
  if (annotated === undefined) return;
  if (kit.unpinned) {
    throw new InvalidContentError(`${where}: the manifest annotation ${Annotation.KitImage} names ${annotated}, but the kit config is unpinned`);
  }
  if (annotated !== kit.image) {
    throw new InvalidContentError(`${where}: the manifest annotation ${Annotation.KitImage} names ${annotated}, but the kit config's image is ${kit.image}`);
  }
}

/** A pinned image names the same repository and tag as kit.yaml, and carries a digest (the one kit.yaml gave, if any). */
function checkPinnedImage(pinned: string, declared: string, where: string): void {
  const p = parseReference(pinned);
  const d = parseReference(declared);
  if (p.digest === undefined) throw new InvalidContentError(`${where}: the kit config's image ${pinned} is not pinned by digest`);
  const same = p.registry === d.registry && p.repository === d.repository && p.tag === d.tag && (d.digest === undefined || d.digest === p.digest);
  if (!same) throw new InvalidContentError(`${where}: the kit config's image ${pinned} does not match kit.yaml's image ${declared}`);
}
