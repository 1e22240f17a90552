/**
 * The rules of spec/kit-artifact-v1.md that need neither zod nor YAML: the
 * manifest's shape (types, titles, sizes) and the image annotation. Apart
 * from verify-artifact.ts so a read of a kit the local store has validated
 * (read-kit.ts) loads neither library.
 */
import { type Descriptor, InvalidContentError, isJsonObject, MediaType, parseManifestJson, readDescriptor, SizeLimitError } from "../oras/content.js";
import type { KitConfig } from "./artifact.js";
import { Annotation, KIT_ARTIFACT_TYPE, KIT_CONFIG_MEDIA_TYPE, KIT_YAML_MEDIA_TYPE, KIT_YAML_TITLE, README_MEDIA_TYPE, README_TITLE } from "./format.js";
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

/** A kit pushed with --no-pin, read without --allow-unpinned. */
export function unpinnedKitError(image: string, where: string): InvalidContentError {
  return new InvalidContentError(`${where}: the kit is unpinned (its image ${image} has no recorded digest)`, {
    hint: "pass --allow-unpinned to accept it, or push it again without --no-pin",
  });
}
