/**
 * The part of pull that talks to registries and layouts: loaded only when a
 * pull fetches, so a pull the local store serves never loads the registry
 * client (undici) at start-up.
 */
import { formatReference, fromEndpoints, repositoryName } from "../oras/content.js";
import type { CopyProgressOptions } from "../oras/copy/index.js";
import { fetchManifestOf, type OpenedTarget, openTarget } from "../oras/index.js";
import type { PullOptions } from "./pull.js";
import { readKitContent, type KitContent } from "./read-kit.js";
import type { KitReference } from "./reference.js";
import { withDefaultCredentials } from "./remote-defaults.js";

/** Fetch and check a kit from a layout, or from a registry through its mirrors; `endpoint` names the repository that served. */
export async function fetchKitFrom(ref: Exclude<KitReference, { kind: "store" }>, opts: PullOptions): Promise<{ content: KitContent; endpoint: string }> {
  const remote = withDefaultCredentials(opts.remote);
  const allowUnpinned = opts.allowUnpinned ?? false;
  const fetchOpts = { allowUnpinned, onPlan: opts.onPlan, onProgress: opts.onProgress };
  if (ref.kind === "layout") return { content: await fetchOpenedKit(await openTarget(ref, { remote }), fetchOpts), endpoint: formatReference({ ...ref, tag: undefined, digest: undefined }) };
  const served = await fromEndpoints(ref, opts.mirrors?.get(ref.registry), async (at) => fetchOpenedKit(await openTarget(at.ref, { remote }), fetchOpts));
  return { content: served.value, endpoint: repositoryName(served.endpoint.ref) };
}

/** Fetch and check a kit from a registry or layout; nothing is stored here. */
export async function fetchOpenedKit(opened: OpenedTarget, opts: { allowUnpinned?: boolean } & CopyProgressOptions = {}): Promise<KitContent> {
  const { descriptor, bytes } = await fetchManifestOf(opened);
  return readKitContent(opened.target, descriptor, bytes, formatReference(opened.ref), opts);
}
