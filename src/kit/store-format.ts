/**
 * The few kit-artifact names the local store needs to list and match kits.
 * They live here, not only in artifact.ts and schema.ts, because those load
 * zod (about 0.1 s of start-up) and `kit ls` / `kit rm` / `kit gc` must not pay
 * for it. test/kit/store.test.ts keeps these equal to the originals.
 */

export const STORE_KIT_ARTIFACT_TYPE = "application/vnd.aegis.kit.v1+json";

export const StoreAnnotation = {
  Title: "org.opencontainers.image.title",
  Version: "org.opencontainers.image.version",
  KitImage: "dev.aegis.kit.image",
} as const;

/** The kit-name slug of kit-manifest-v1 (`name`). */
const KIT_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const MAX_KIT_NAME_LENGTH = 63;

export function isKitName(text: string): boolean {
  return text.length <= MAX_KIT_NAME_LENGTH && KIT_NAME.test(text);
}
