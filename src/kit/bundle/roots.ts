/**
 * The entries of a bundle's index.json — its roots — as kit save writes them
 * and as listing and loading read them back (from any tarred layout: an
 * entry without our annotations is listed with what it has).
 */
import { type Descriptor, digestOf, formatReference, MediaType, OciError, parseImageIndex, type RegistryReference, withContext } from "../../oras/content.js";
import { Annotation, KIT_ARTIFACT_TYPE } from "../format.js";
import type { BundleEntryKind } from "./format.js";

export interface BundleRoot {
  /** kit or image, as the entry's annotations say (a kit also by its artifactType); undefined for a bare entry. */
  kind: BundleEntryKind | undefined;
  /** Its `org.opencontainers.image.ref.name`: the original full reference for what kit save wrote; undefined when untagged. */
  reference: string | undefined;
  /** The entry without its ref name. */
  descriptor: Descriptor;
  /** What the annotations claim of a kit (load checks the kit itself). */
  kit?: { name: string; version: string; image?: string };
}

/** The ref name kit save gives a root: `REGISTRY/REPO:TAG`, or `REGISTRY/REPO@DIGEST` without a tag. */
export function rootName(ref: RegistryReference, digest: string): string {
  return ref.tag !== undefined ? formatReference({ ...ref, digest: undefined }) : formatReference({ ...ref, tag: undefined, digest });
}

/** The index.json entry of a root. */
export function indexEntry(root: BundleRoot): Descriptor {
  const annotations: Record<string, string> = { ...root.descriptor.annotations };
  if (root.reference !== undefined) annotations[Annotation.RefName] = root.reference;
  if (root.kind !== undefined) annotations[Annotation.Kind] = root.kind;
  const { annotations: _drop, ...rest } = root.descriptor;
  return Object.keys(annotations).length > 0 ? { ...rest, annotations } : rest;
}

/** A root as an index.json entry describes it. */
export function rootOf(entry: Descriptor): BundleRoot {
  const { [Annotation.RefName]: reference, ...others } = entry.annotations ?? {};
  const descriptor: Descriptor = { ...entry };
  delete descriptor.annotations;
  if (Object.keys(others).length > 0) descriptor.annotations = others;
  const declared = others[Annotation.Kind];
  const kind: BundleEntryKind | undefined =
    declared === "kit" || declared === "image" || declared === "attachment" ? declared : entry.artifactType === KIT_ARTIFACT_TYPE ? "kit" : undefined;
  const root: BundleRoot = { kind, reference, descriptor };
  const name = others[Annotation.Title];
  const version = others[Annotation.Version];
  if (kind === "kit" && name !== undefined && version !== undefined) {
    const image = others[Annotation.KitImage];
    root.kit = image === undefined ? { name, version } : { name, version, image };
  }
  return root;
}

/** The index.json of a bundle, as kit save writes it. */
export function indexJson(roots: readonly BundleRoot[]): Buffer {
  return Buffer.from(`${JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: roots.map(indexEntry) })}\n`);
}

/** The roots a bundle's index.json lists (strictly parsed as an image index); `where` names it in errors. */
export function parseBundleIndex(bytes: Buffer, where: string): BundleRoot[] {
  try {
    return parseImageIndex({ mediaType: MediaType.ImageIndex, digest: digestOf(bytes), size: bytes.length }, bytes).manifests.map(rootOf);
  } catch (err) {
    throw err instanceof OciError ? withContext(err, where) : err;
  }
}
