/**
 * Publishing a kit: pack (validate + pin), copy the artifact into a registry
 * repository or an OCI layout, tag it, and record it in the local store.
 */
import { copyGraph } from "../oras/copy/index.js";
import { UsageError } from "../oras/errors.js";
import { MemoryStore } from "../oras/memory.js";
import { formatReference, isValidTag, parseTargetReference } from "../oras/reference.js";
import type { RemoteOptions } from "../oras/remote/registry-client.js";
import { openTarget } from "../oras/targets.js";
import type { KitArtifact } from "./artifact.js";
import { packKit, type PackOptions } from "./pack.js";
import { KitStore } from "./store.js";
import { withDefaultCredentials } from "./remote-defaults.js";

export interface PushOptions extends PackOptions {
  /** Extra tags besides the reference's own. */
  tags?: string[];
  remote?: RemoteOptions;
  /** The local store to record the kit in; a path, an open store, or false to skip. Default: $KIT_STORE. */
  store?: string | KitStore | false;
}

export interface PushResult {
  /** `REGISTRY/REPO@sha256:…` (or `oci:PATH@sha256:…`). */
  reference: string;
  digest: string;
  /** The pinned image, or the image as written when unpinned. */
  image: string;
  tags: string[];
}

/**
 * Push the kit in `dir` to `ref` (registry reference or oci:PATH[:TAG]).
 * Without a tag in `ref`, the kit's version is the tag, as Helm does.
 */
export async function pushKit(ref: string, dir: string, opts: PushOptions = {}): Promise<PushResult> {
  const target = parseTargetReference(ref);
  if (target.digest !== undefined) {
    throw new UsageError(`cannot push to a digest reference "${ref}": name a tag, or no tag to use the kit's version`);
  }
  for (const tag of opts.tags ?? []) {
    if (!isValidTag(tag)) throw new UsageError(`invalid --tag "${tag}": a tag is 1-128 letters, digits, "_", "." and "-"`);
  }
  const artifact = await packKit(dir, opts);
  const tags = unique([target.tag ?? versionTag(artifact.kit.version), ...(opts.tags ?? [])]);

  const opened = await openTarget(target, { create: true, remote: withDefaultCredentials(opts.remote) });
  const source = await memoryStoreOf(artifact);
  const digest = artifact.manifest.descriptor.digest;
  // The copy engine skips every blob the destination already has, so an unchanged kit costs only the tag.
  await copyGraph(source, opened.target, artifact.manifest.descriptor, { tag: tags[0]!, verifySource: false });
  for (const extra of tags.slice(1)) await opened.target.tag(artifact.manifest.descriptor, extra);

  const base = { ...target, tag: undefined, digest: undefined };
  if (opts.store !== false && target.kind === "registry") {
    const store = opts.store instanceof KitStore ? opts.store : await KitStore.open(opts.store);
    await store.add(artifact, artifact.kit, tags.map((tag) => formatReference({ ...base, tag })));
  }
  return { reference: formatReference({ ...base, digest }), digest, image: artifact.kit.image, tags };
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
