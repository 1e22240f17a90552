/**
 * A general OCI distribution client (references, auth, registry API, OCI
 * image layouts, graph copy), modelled on oras-go v2. Nothing here knows
 * what a kit is.
 *
 * Entry points, as oras-go splits its packages: `@aegis/kit/oras` (all of
 * it), `/content` (descriptors, digests, manifests, references, errors — no
 * transport), `/layout`, `/remote` and `/copy`. Each loads only what it needs.
 */
export * from "./content.js";
export * from "./layout/index.js";
export * from "./remote/index.js";
export * from "./copy/index.js";
export {
  openTarget,
  resolveTarget,
  fetchManifestOf,
  copyReference,
  copyStrategy,
  countingRetries,
  type CopyEnd,
  type OpenedTarget,
  type OpenTargetOptions,
  type CopyReferenceOptions,
  type CopyReferenceResult,
} from "./targets.js";
