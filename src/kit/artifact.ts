/**
 * The kit artifact format (spec/kit-artifact-v1.md): an OCI image manifest
 * whose config is the validated kit as canonical JSON and whose two layers are
 * the author's kit.yaml and README.md, byte for byte.
 */
import * as z from "zod/mini";
import { type DescribedBytes, type Descriptor, digestOf, MediaType } from "../oras/content.js";
import { canonicalJson } from "./canonical-json.js";
import { KitManifestSchema, type KitManifest } from "./schema.js";

export {
  Annotation,
  KIT_ARTIFACT_TYPE,
  KIT_CONFIG_MEDIA_TYPE,
  KIT_YAML_MEDIA_TYPE,
  KIT_YAML_TITLE,
  README_MEDIA_TYPE,
  README_TITLE,
} from "./format.js";
import { Annotation, KIT_ARTIFACT_TYPE, KIT_CONFIG_MEDIA_TYPE, KIT_YAML_MEDIA_TYPE, KIT_YAML_TITLE, README_MEDIA_TYPE, README_TITLE } from "./format.js";

/**
 * The config: the validated kit (defaults applied) with `image` pinned to
 * `registry/repo:tag@digest`. A kit pushed with --no-pin keeps its image as
 * written and says so with `unpinned: true`.
 */
export const KitConfigSchema = z.extend(KitManifestSchema, {
  unpinned: z.optional(z.literal(true)),
});
export type KitConfig = z.output<typeof KitConfigSchema>;

export interface KitArtifact {
  manifest: DescribedBytes;
  config: DescribedBytes;
  layers: [DescribedBytes, DescribedBytes];
  kit: KitConfig;
}

export interface ArtifactInput {
  manifest: KitManifest;
  kitYaml: Uint8Array;
  readme: Uint8Array;
  /** `registry/repo:tag@sha256:…`; absent for an unpinned kit. */
  pinnedImage?: string;
  /** org.opencontainers.image.source and .revision, when the kit lives in a git checkout. */
  source?: string;
  revision?: string;
  /** RFC 3339; only when the user asked for it (--created or SOURCE_DATE_EPOCH). */
  created?: string;
  /** The pinned base image's manifest or index (`kit push --attach`): the kit becomes a referrer of it. */
  subject?: Descriptor;
  /**
   * "oci-1.1" (default): `artifactType` names the kit. "image-spec-1.0", for
   * registries that refuse OCI 1.1 fields: no `artifactType` and no
   * `subject`; the config media type alone says it is a kit.
   */
  form?: ManifestForm;
}

export type ManifestForm = "oci-1.1" | "image-spec-1.0";

function blob(mediaType: string, bytes: Uint8Array, annotations?: Record<string, string>): DescribedBytes {
  const buffer = Buffer.from(bytes);
  const descriptor: Descriptor = { mediaType, digest: digestOf(buffer), size: buffer.length };
  if (annotations) descriptor.annotations = annotations;
  return { descriptor, bytes: buffer };
}

function kitConfigFor(manifest: KitManifest, pinnedImage: string | undefined): KitConfig {
  return pinnedImage === undefined ? { ...manifest, unpinned: true } : { ...manifest, image: pinnedImage };
}

/** Assemble the artifact; pure, so the same input always gives the same manifest digest. */
export function buildKitArtifact(input: ArtifactInput): KitArtifact {
  const kit = kitConfigFor(input.manifest, input.pinnedImage);
  const config = blob(KIT_CONFIG_MEDIA_TYPE, Buffer.from(canonicalJson(kit), "utf8"));
  const layers: [DescribedBytes, DescribedBytes] = [
    blob(KIT_YAML_MEDIA_TYPE, input.kitYaml, { [Annotation.Title]: KIT_YAML_TITLE }),
    blob(README_MEDIA_TYPE, input.readme, { [Annotation.Title]: README_TITLE }),
  ];
  const annotations: Record<string, string> = {
    [Annotation.Title]: input.manifest.name,
    [Annotation.Version]: input.manifest.version,
  };
  if (input.manifest.description !== undefined) annotations[Annotation.Description] = input.manifest.description;
  if (input.source !== undefined) annotations[Annotation.Source] = input.source;
  if (input.revision !== undefined) annotations[Annotation.Revision] = input.revision;
  if (input.created !== undefined) annotations[Annotation.Created] = input.created;
  if (input.pinnedImage !== undefined) annotations[Annotation.KitImage] = input.pinnedImage;

  const oci11 = (input.form ?? "oci-1.1") === "oci-1.1";
  const manifestJson = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    ...(oci11 ? { artifactType: KIT_ARTIFACT_TYPE } : {}),
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
    ...(oci11 && input.subject !== undefined ? { subject: subjectDescriptor(input.subject) } : {}),
    annotations,
  };
  const manifest = blob(MediaType.ImageManifest, Buffer.from(canonicalJson(manifestJson), "utf8"));
  if (oci11) manifest.descriptor.artifactType = KIT_ARTIFACT_TYPE;
  return { manifest, config, layers, kit };
}

/** A subject names its manifest by media type, digest and size only. */
function subjectDescriptor(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}
