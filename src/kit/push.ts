/**
 * Publishing a kit: build it (validate + pin), copy the artifact into a
 * registry repository or an OCI layout (pushKit), or into a layout only
 * (packKit, what `kit pack` does), tag it, and record a registry push in the
 * local store.
 */
import {
  formatReference,
  isValidTag,
  type LayoutReference,
  MemoryStore,
  OciError,
  parseLayoutReference,
  parseReference,
  parseTargetReference,
  type RegistryReference,
  type Target,
  type TargetReference,
  UsageError,
} from "../oras/content.js";
import { copy, type CopyProgressOptions } from "../oras/copy/index.js";
import { openTarget } from "../oras/index.js";
import { RemoteRepository, refusesOci11Fields, type RemoteOptions } from "../oras/remote/index.js";
import type { KitArtifact, ManifestForm } from "./artifact.js";
import { buildKit, type BuildKitOptions, withForm } from "./pack.js";
import { KitStore } from "./store.js";
import { withDefaultCredentials } from "./remote-defaults.js";

export interface PackOptions extends BuildKitOptions {
  /** Extra tags besides the reference's own. */
  tags?: string[];
}

export interface PushOptions extends PackOptions, CopyProgressOptions {
  /** The local store to record the kit in; a path, an open store, or false to skip. Default: $KIT_STORE. */
  store?: string | KitStore | false;
}

export interface PushKitOptions extends PushOptions {
  /**
   * Make the kit a referrer of its pinned base image (`subject`), and push
   * the same manifest into the image's repository too, where referrers of
   * the image live. Registry references only.
   */
  attach?: boolean;
}

export interface PushResult {
  /** `REGISTRY/REPO@sha256:…` (or `oci:PATH@sha256:…`). */
  reference: string;
  digest: string;
  /** The pinned image, or the image as written when unpinned. */
  image: string;
  tags: string[];
  /** Things worth a second look that did not stop the push (a version tag other than the kit's version). */
  warnings: string[];
  /** The manifest form written (spec/kit-artifact-v1.md): image-spec-1.0 where the registry refused OCI 1.1 fields. */
  form: ManifestForm;
  /** With attach: the kit in the base image's repository, `REGISTRY/IMAGE_REPO@sha256:…`. */
  attached?: string;
}

/**
 * Push the kit in `dir` to `ref` (registry reference or oci:PATH[:TAG]).
 * Without a tag in `ref`, the kit's version is the tag, as Helm does.
 */
export async function pushKit(ref: string | TargetReference, dir: string, opts: PushKitOptions = {}): Promise<PushResult> {
  const target = typeof ref === "string" ? parseTargetReference(ref) : ref;
  if (target.digest !== undefined) {
    throw new UsageError(`cannot push to a digest reference "${typeof ref === "string" ? ref : formatReference(ref)}": name a tag, or no tag to use the kit's version`);
  }
  for (const tag of opts.tags ?? []) {
    if (!isValidTag(tag)) throw new UsageError(`invalid --tag "${tag}": a tag is 1-128 letters, digits, "_", "." and "-"`);
  }
  if (opts.attach && target.kind !== "registry") {
    throw new UsageError("--attach pushes the kit next to its base image, so it needs a registry reference, not an OCI layout");
  }
  const remote = withDefaultCredentials(opts.remote);
  const opened = await openTarget(target, { create: true, remote });
  const features = opened.kind === "registry" ? opened.target.features : undefined;
  // A registry already known to refuse OCI 1.1 fields gets the image-spec 1.0 form straight away.
  let artifact = await buildKit(dir, { ...opts, ...(features?.imageSpec11 === "unsupported" ? { form: "image-spec-1.0" as const } : {}) });
  const tags = unique([target.tag ?? versionTag(artifact.kit.version), ...(opts.tags ?? [])]);
  const warnings = versionTagWarnings(tags, artifact.kit.version);

  try {
    await copyArtifact(artifact, opened.target, tags, opts);
    if (features && (artifact.input.form ?? "oci-1.1") === "oci-1.1") features.imageSpec11 = "supported";
  } catch (err) {
    if (features === undefined || (artifact.input.form ?? "oci-1.1") !== "oci-1.1" || !refusesOci11Fields(err)) throw err;
    // Older ECR, Harbor and GitLab refuse artifactType/subject: once, in the form they take, and remembered.
    features.imageSpec11 = "unsupported";
    artifact = withForm(artifact, "image-spec-1.0");
    await copyArtifact(artifact, opened.target, tags, opts);
    warnings.push(
      `${opened.target.name} refused the OCI 1.1 manifest fields (${(err as Error).message}); the kit was pushed in the image-spec 1.0 form` +
        (opts.attach ? ", which cannot name a subject, so it is not attached to its image" : ""),
    );
  }
  const root = artifact.manifest.descriptor;
  const attached = artifact.subject !== undefined && target.kind === "registry" ? await attachToImage(artifact, target, remote) : undefined;

  const base = { ...target, tag: undefined, digest: undefined };
  if (opts.store !== false && target.kind === "registry") {
    const store = opts.store instanceof KitStore ? opts.store : await KitStore.open(opts.store);
    await store.add(artifact, artifact.kit, tags.map((tag) => ({ ...target, tag })));
  }
  return {
    reference: formatReference({ ...base, digest: root.digest }),
    digest: root.digest,
    image: artifact.kit.image,
    tags,
    warnings,
    form: artifact.input.form ?? "oci-1.1",
    ...(attached !== undefined ? { attached } : {}),
  };
}

/** The artifact into the target, tagged with every tag. */
async function copyArtifact(artifact: KitArtifact, target: Target, tags: readonly string[], progress: CopyProgressOptions): Promise<void> {
  const root = artifact.manifest.descriptor;
  // copy()'s rules with the root named by digest; the source was just built in memory, so nothing to re-hash.
  // The copy engine skips every blob the destination already has, so an unchanged kit costs only the tag.
  await copy(await memoryStoreOf(artifact), root.digest, target, { tag: tags[0]! }, {
    verifySource: false,
    ...(progress.onPlan ? { onPlan: progress.onPlan } : {}),
    ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
  });
  for (const extra of tags.slice(1)) await target.tag(root, extra);
}

/**
 * The same manifest (same digest) in the base image's repository, untagged:
 * referrers live in their subject's repository, so that is where discovery
 * looks. Blobs are mounted from the kit's repository on the same registry.
 */
async function attachToImage(artifact: KitArtifact, target: RegistryReference, remote: RemoteOptions): Promise<string> {
  const image = parseReference(artifact.kit.image);
  const root = artifact.manifest.descriptor;
  const where = formatReference({ kind: "registry", registry: image.registry, repository: image.repository, digest: root.digest });
  if (image.registry === target.registry && image.repository === target.repository) return where;
  const repo = new RemoteRepository(image, remote);
  const mount = image.registry === target.registry ? { mountFrom: target.repository, canMount: () => true } : {};
  try {
    await copy(await memoryStoreOf(artifact), root.digest, repo, undefined, { verifySource: false, ...mount });
  } catch (err) {
    if (!(err instanceof OciError)) throw err;
    throw new OciError(err.code, `pushed ${formatReference({ ...target, tag: undefined, digest: root.digest })}, but attaching it to ${image.registry}/${image.repository} failed: ${err.message}`, {
      hint: "the kit is published; attaching needs push access to the image's repository (\"kit login REGISTRY\"?)",
      cause: err,
    });
  }
  return where;
}

// A tag shaped like a version (1.0.0, v2.1.3-rc.1) is read by people and tools as the kit's version.
const VERSION_LIKE_TAG = /^v?\d+\.\d+\.\d+(?:[-_][0-9A-Za-z.-]+)?$/;

/** A tag that looks like a version but is not this kit's: pushing my-kit 0.1.0 as :1.0.0 is almost always a slip. */
function versionTagWarnings(tags: readonly string[], version: string): string[] {
  return tags
    .filter((tag) => VERSION_LIKE_TAG.test(tag) && tag !== versionTag(version))
    .map((tag) => `tag ${tag} looks like a version, but the kit's version is ${version}`);
}

/**
 * Write the kit in `dir` into the OCI layout `output` (oci:PATH[:TAG], or a
 * plain PATH[:TAG] meaning the same; TAG defaults to the kit's version), as
 * `kit pack` does. Needs no registry unless the image must be pinned from a
 * tag; records nothing in the store.
 */
export function packKit(dir: string, output: string | LayoutReference, opts: PackOptions = {}): Promise<PushResult> {
  const layout = typeof output === "string" ? parseLayoutOutput(output) : output;
  // The offline path: an image that already names a digest is taken as written (push confirms it).
  return pushKit(layout, dir, { confirmPinnedImage: false, ...opts, store: false });
}

/** `kit pack -o`: always a path on disk; `oci:` may be left out. A URL (`oci://…`, `https://…`) is refused. */
export function parseLayoutOutput(text: string): LayoutReference {
  if (text.includes("://")) {
    throw new UsageError(`kit pack writes an OCI layout on disk, and "${text}" is not a path`, {
      hint: 'write -o oci:PATH[:TAG]; to publish to a registry use "kit push REF DIR"',
    });
  }
  return parseLayoutReference(text.startsWith("oci:") ? text : `oci:${text}`);
}

/** SemVer build metadata (`+build`) is not allowed in a tag; OCI tools write it as `_`, as Helm does. */
function versionTag(version: string): string {
  return version.replace(/\+/g, "_");
}

async function memoryStoreOf(artifact: Pick<KitArtifact, "manifest" | "config" | "layers">): Promise<MemoryStore> {
  const store = new MemoryStore("kit artifact");
  for (const blob of [artifact.config, ...artifact.layers, artifact.manifest]) await store.push(blob.descriptor, blob.bytes);
  return store;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
