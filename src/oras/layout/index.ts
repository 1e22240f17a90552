/**
 * OCI image layouts as Targets, with garbage collection and verification.
 * Published as `@aegis/kit/oras/layout`.
 */
export { OciLayout, LAYOUT_VERSION, checkLayoutMarker, type OpenLayoutOptions, type LayoutReferenceEntry } from "./store.js";
export { STALE_TEMP_MS, type GcOptions, type GcResult } from "./gc.js";
export { layoutReportError, type LayoutProblem, type LayoutProblemKind, type LayoutReport } from "./verify-layout.js";
export { validateRefName } from "./index-file.js";
export { FileLock, type LockOptions } from "../lock.js";
