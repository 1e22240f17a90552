/**
 * Inspecting a kit without pulling it: manifest, config, layers, annotations
 * and the pinned image, from a registry, a layout or the local store.
 */
import { type Descriptor, fetchAll, formatReference, fromEndpoints, type MirrorPolicies, repositoryName, type TargetReference } from "../oras/content.js";
import { fetchManifestOf, openTarget } from "../oras/index.js";
import type { RemoteOptions } from "../oras/remote/index.js";
import { KIT_ARTIFACT_TYPE, type KitConfig } from "./artifact.js";
import { MAX_KIT_CONFIG_BYTES } from "./limits.js";
import { toKitReference, type KitReference } from "./reference.js";
import { KitStore } from "./store.js";
import { recordedRepository } from "./store-reference.js";
import { checkImageAnnotation, checkKitManifestJson, parseKitConfig } from "./verify-artifact.js";
import { withDefaultCredentials } from "./remote-defaults.js";

export interface KitInspection {
  reference: string;
  /** The repository read (a mirror's when one served), `oci:PATH`, or for the local store the repository recorded; as ResolvedKit.endpoint. */
  endpoint: string;
  digest: string;
  mediaType: string;
  artifactType: string;
  size: number;
  annotations: Record<string, string>;
  config: Descriptor;
  kit: KitConfig;
  layers: Descriptor[];
  /** The pinned image, or undefined for an unpinned kit. */
  image: string | undefined;
  /** The manifest as stored. */
  manifest: unknown;
}

export async function inspectKit(
  reference: string | KitReference,
  opts: { remote?: RemoteOptions; mirrors?: MirrorPolicies; store?: string | KitStore } = {},
): Promise<KitInspection> {
  const ref = toKitReference(reference);
  if (ref.kind === "store") {
    const store = await KitStore.openToFind(ref, opts.store);
    const entry = await store.findOne(ref);
    const stored = await store.read(entry.digest, { allowUnpinned: true });
    return describe(`${recordedRepository(entry)}@${stored.descriptor.digest}`, recordedRepository(entry), stored.descriptor, stored.manifest, stored.config);
  }
  const remote = withDefaultCredentials(opts.remote);
  const read = async (at: TargetReference) => {
    const opened = await openTarget(at, { remote });
    const { descriptor, bytes } = await fetchManifestOf(opened);
    const view = checkKitManifestJson(bytes, formatReference(at));
    const config = await fetchAll(opened.target, view.config, { limit: MAX_KIT_CONFIG_BYTES, what: `kit config of ${formatReference(at)}` });
    return { descriptor, bytes, config };
  };
  const served =
    ref.kind === "registry"
      ? await fromEndpoints(ref, opts.mirrors?.get(ref.registry), (at) => read(at.ref)).then(({ value, endpoint }) => ({ ...value, endpoint: repositoryName(endpoint.ref) }))
      : { ...(await read(ref)), endpoint: formatReference({ ...ref, tag: undefined, digest: undefined }) };
  return describe(formatReference({ ...ref, tag: undefined, digest: served.descriptor.digest }), served.endpoint, served.descriptor, served.bytes, served.config);
}

function describe(reference: string, endpoint: string, descriptor: Descriptor, manifestBytes: Buffer, configBytes: Buffer): KitInspection {
  const view = checkKitManifestJson(manifestBytes, reference);
  const kit = parseKitConfig(configBytes, reference);
  checkImageAnnotation(view.annotations, kit, reference);
  return {
    reference,
    endpoint,
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    artifactType: KIT_ARTIFACT_TYPE,
    size: manifestBytes.length,
    annotations: view.annotations,
    config: view.config,
    kit: kit,
    layers: [view.kitYaml, view.readme],
    // The config's image is the one that runs (the annotation was checked to agree).
    image: kit.unpinned ? undefined : kit.image,
    manifest: JSON.parse(manifestBytes.toString("utf8")),
  };
}
