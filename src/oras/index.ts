/**
 * A general OCI distribution client (references, auth, registry API, OCI
 * image layouts, graph copy), modelled on oras-go v2. Nothing here knows
 * what a kit is.
 */
export * from "./errors.js";
export * from "./descriptor.js";
export * from "./manifest.js";
export { isJsonObject, type JsonObject } from "./json.js";
export * from "./digest.js";
export * from "./reference.js";
export type * from "./target.js";
export * from "./verify.js";
export { MemoryStore } from "./memory.js";
export { OciLayout, LAYOUT_VERSION, type OpenLayoutOptions, type LayoutReferenceEntry } from "./layout/store.js";
export { STALE_TEMP_MS, type GcOptions, type GcResult } from "./layout/gc.js";
export { layoutReportError, type LayoutProblem, type LayoutProblemKind, type LayoutReport } from "./layout/verify-layout.js";
export * from "./remote/index.js";
export * from "./copy/index.js";
export { resolveSelector } from "./resolve.js";
export {
  openTarget,
  resolveTarget,
  fetchManifestOf,
  copyReference,
  type OpenedTarget,
  type OpenTargetOptions,
  type CopyReferenceOptions,
  type CopyReferenceResult,
} from "./targets.js";
