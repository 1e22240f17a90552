/**
 * Reading a kit's config and layers from any storage (a registry, a layout,
 * the local store) once its manifest is in hand: every blob bounded and
 * verified, every artifact rule checked. pull and the local store share it.
 *
 * The config's schema and its agreement with kit.yaml (verify-artifact.ts,
 * which loads zod and YAML) are checked unless the caller vouches for the
 * config: the local store passes the kit it recorded when it validated these
 * very bytes (store-validated.ts), and it stands in for those checks only
 * when its canonical JSON is the config blob, byte for byte.
 */
import { type DescribedBytes, type Descriptor, fetchAll, NotFoundError, type ReadOnlyStorage } from "../oras/content.js";
import type { CopyPlan, CopyProgressOptions, PlanNode } from "../oras/copy/index.js";
import type { KitConfig } from "./artifact.js";
import { KIT_ARTIFACT_TYPE, KIT_YAML_TITLE, README_TITLE } from "./format.js";
import { MAX_KIT_CONFIG_BYTES, MAX_KIT_FILE_BYTES, MAX_README_BYTES } from "./limits.js";
import { isCanonicalJsonOf } from "./canonical-json.js";
import { checkImageAnnotation, checkKitManifestJson, unpinnedKitError } from "./kit-manifest.js";

/** A kit read and checked: everything pull stores and returns. */
export interface KitContent {
  descriptor: Descriptor;
  manifest: Buffer;
  config: DescribedBytes;
  /** kit.yaml, then README.md. */
  layers: [DescribedBytes, DescribedBytes];
  kit: KitConfig;
}

/** onPlan and onProgress hear the blobs being fetched in copy's terms, so one progress display serves both. */
interface ReadKitOptions extends CopyProgressOptions {
  allowUnpinned?: boolean;
  /** How a missing blob is reported (the local store says it is incomplete). */
  missing?: (what: string, blob: Descriptor) => Error | Promise<Error>;
  /**
   * The kit as validated before from a config blob with this digest (the
   * local store's record): when its canonical JSON equals the config blob
   * read, it is the result of the schema and kit.yaml checks, which are not
   * run again. Otherwise they are.
   */
  validated?: KitConfig;
}

export async function readKitContent(
  storage: ReadOnlyStorage,
  descriptor: Descriptor,
  manifest: Buffer,
  where: string,
  opts: ReadKitOptions = {},
): Promise<KitContent> {
  const view = checkKitManifestJson(manifest, where);
  const plan = fetchPlan(descriptor, [view.config, view.kitYaml, view.readme]);
  opts.onPlan?.(plan);
  const get = async (blob: Descriptor, limit: number, what: string): Promise<DescribedBytes> => {
    const node = plan.nodes.find((n) => n.descriptor.digest === blob.digest)!;
    try {
      opts.onProgress?.({ type: "start", node });
      const bytes = await fetchAll(storage, blob, { limit, what: `${what} ${blob.digest} of ${where}` });
      opts.onProgress?.({ type: "done", node, via: "upload" });
      return { descriptor: blob, bytes };
    } catch (err) {
      if (err instanceof NotFoundError && opts.missing) throw await opts.missing(what, blob);
      throw err;
    }
  };
  // All three at once: on a remote registry the round trips overlap.
  const fetching = Promise.all([
    get(view.config, MAX_KIT_CONFIG_BYTES, "kit config"),
    get(view.kitYaml, MAX_KIT_FILE_BYTES, KIT_YAML_TITLE),
    get(view.readme, MAX_README_BYTES, README_TITLE),
  ]);
  // Without a record to stand for them the full checks will run: their code (zod, YAML: ~25 ms to load) loads
  // while the blobs are on their way rather than after they came.
  const checks = opts.validated === undefined ? afterRequestsSent(() => import("./verify-artifact.js")) : undefined;
  const [config, kitYaml, readme] = await fetching;
  const allowUnpinned = opts.allowUnpinned ?? false;
  let kit: KitConfig;
  if (opts.validated !== undefined && isCanonicalJsonOf(opts.validated, config.bytes)) {
    kit = opts.validated;
    if (kit.unpinned && !allowUnpinned) throw unpinnedKitError(kit.image, where);
  } else {
    const { checkKitConfig } = await (checks ?? import("./verify-artifact.js"));
    kit = checkKitConfig(config.bytes, kitYaml.bytes, where, { allowUnpinned });
  }
  checkImageAnnotation(view.annotations, kit, where);
  return {
    descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size, artifactType: KIT_ARTIFACT_TYPE },
    manifest,
    config,
    layers: [kitYaml, readme],
    kit,
  };
}

/**
 * Run `load` once the requests just started have been written: two turns of
 * the event loop, so that a poll phase (connections completing, requests
 * going out) comes first. Its failure is reported where the result is awaited.
 */
function afterRequestsSent<T>(load: () => Promise<T>): Promise<T> {
  const result = new Promise<T>((resolve, reject) => setImmediate(() => setImmediate(() => load().then(resolve, reject))));
  result.catch(() => {}); // Not awaited at all when a fetch fails first.
  return result;
}

/** The blobs a kit read fetches, as a copy plan: one node per digest, then the manifest, already in hand. */
function fetchPlan(manifest: Descriptor, blobs: Descriptor[]): CopyPlan {
  const nodes = new Map<string, PlanNode>();
  for (const blob of blobs) nodes.set(blob.digest, { descriptor: blob, kind: "blob", action: "upload", children: [] });
  const bytesToTransfer = [...nodes.values()].reduce((sum, n) => sum + n.descriptor.size, 0);
  const root: PlanNode = { descriptor: manifest, kind: "manifest", action: "skip", reason: "exists", children: [...nodes.keys()] };
  return { root: manifest, nodes: [...nodes.values(), root], totalBytes: bytesToTransfer + manifest.size, bytesToTransfer };
}
