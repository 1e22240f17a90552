/**
 * The names of the kit artifact format (spec/kit-artifact-v1.md) and the kit
 * name rule, in a module without zod: `kit ls`, `rm` and `gc` need them and
 * must not pay the ~0.1 s zod costs at start-up.
 */

export const KIT_ARTIFACT_TYPE = "application/vnd.aegis.kit.v1+json";
export const KIT_CONFIG_MEDIA_TYPE = "application/vnd.aegis.kit.config.v1+json";
export const KIT_YAML_MEDIA_TYPE = "application/vnd.aegis.kit.manifest.v1+yaml";
export const README_MEDIA_TYPE = "text/markdown";

export const Annotation = {
  Title: "org.opencontainers.image.title",
  Version: "org.opencontainers.image.version",
  Description: "org.opencontainers.image.description",
  Source: "org.opencontainers.image.source",
  Revision: "org.opencontainers.image.revision",
  Created: "org.opencontainers.image.created",
  RefName: "org.opencontainers.image.ref.name",
  KitImage: "dev.aegis.kit.image",
  /** On a bundle's index.json entries and the local store's image entries: `kit` or `image` (spec/bundle-v1.md). */
  Kind: "dev.aegis.kit.kind",
} as const;

export const KIT_YAML_TITLE = "kit.yaml";
export const README_TITLE = "README.md";

/** kit-manifest-v1 `name`: a lowercase DNS-label-like slug, at most 63 characters. */
export const KIT_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
export const MAX_KIT_NAME_LENGTH = 63;

export function isKitName(text: string): boolean {
  return text.length <= MAX_KIT_NAME_LENGTH && KIT_NAME_PATTERN.test(text);
}
