/**
 * Content without transport: errors, descriptors, digests, manifests,
 * references (and where mirrors keep them), what is attached to manifests (referrers, cosign's tags), verification, bounded reads and atomic writes, an in-memory
 * store, and the limits on everything read from outside. Published as `@aegis/kit/oras/content`; it loads no HTTP client and
 * no layout code, so a consumer that only checks content stays cheap to start.
 */
export * from "./errors.js";
export * from "./descriptor.js";
export * from "./manifest.js";
export * from "./limits.js";
export { isJsonObject, type JsonObject } from "./json.js";
export * from "./digest.js";
export * from "./reference.js";
export * from "./mirror-location.js";
export type * from "./target.js";
export * from "./verify.js";
export { createFileExclusive, errnoCode, fsyncDir, ioError, isTempPath, readFileBounded, tempPathFor, writeFileAtomic, writeFilesAtomic, type WriteFilesOptions } from "./fs.js";
/** Asynchronous file system calls without loading node:fs/promises (see fs-calls.ts). */
export * as fsCalls from "./fs-calls.js";
export { MemoryStore } from "./memory.js";
export { REDACTED, Redactor, displayUrl, redactPatterns } from "./redact.js";
export { resolveSelector } from "./resolve.js";
export * from "./attachments.js";
export * from "./mirrors.js";
