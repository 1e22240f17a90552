/**
 * The part of pull that talks to registries and layouts: loaded only when a
 * pull fetches, so a pull the local store serves never loads the registry
 * client (undici) at start-up.
 */
import { formatReference, fromEndpoints, repositoryName, type Target } from "../oras/content.js";
import { type OpenedTarget, openTarget } from "../oras/index.js";
import { fetchKit } from "./fetch-kit.js";
import type { CopyProgressOptions } from "../oras/copy/index.js";
import type { MirrorPolicies } from "../oras/content.js";
import type { RemoteOptions } from "../oras/remote/index.js";
import type { KitContent } from "./read-kit.js";
import type { KitReference } from "./reference.js";
import { withDefaultCredentials } from "./remote-defaults.js";

/** What of PullOptions a fetch uses (not imported from pull.ts, which loads this module). */
export interface FetchOptions extends CopyProgressOptions {
  allowUnpinned?: boolean;
  remote?: RemoteOptions;
  mirrors?: MirrorPolicies;
}

/**
 * Fetch and check a kit from a layout, or from a registry through its
 * mirrors; `endpoint` names the repository that served, `target` is it (where
 * the trust policy reads the kit's signatures).
 */
export async function fetchKitFrom(ref: Exclude<KitReference, { kind: "store" }>, opts: FetchOptions): Promise<{ content: KitContent; endpoint: string; target: Target }> {
  const remote = withDefaultCredentials(opts.remote);
  const allowUnpinned = opts.allowUnpinned ?? false;
  const fetchOpts = { allowUnpinned, onPlan: opts.onPlan, onProgress: opts.onProgress };
  const fetchFrom = async (opened: OpenedTarget) => ({ content: await fetchKit(opened, fetchOpts), target: opened.target });
  if (ref.kind === "layout") return { ...(await fetchFrom(await openTarget(ref, { remote }))), endpoint: formatReference({ ...ref, tag: undefined, digest: undefined }) };
  const served = await fromEndpoints(ref, opts.mirrors?.get(ref.registry), async (at) => fetchFrom(await openTarget(at.ref, { remote })));
  return { ...served.value, endpoint: repositoryName(served.endpoint.ref) };
}
