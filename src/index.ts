/**
 * kit as a library: the same functions the CLI calls, typed.
 * The general OCI client is available separately as `@aegis/kit/oras`.
 */
export { KitManifestSchema, kitManifestJsonSchema, KIT_MANIFEST_SCHEMA_ID, type KitManifest, type KitManifestInput } from "./kit/schema.js";
export {
  loadKit,
  checkKitManifest,
  parseKitManifest,
  formatIssue,
  formatIssues,
  checkYamlDocument,
  KitValidationError,
  YamlValidationError,
  KIT_FILE,
  type KitIssue,
  type LoadedKit,
  type YamlDocumentKind,
} from "./kit/load.js";
export * from "./kit/limits.js";
export { initKit, PLACEHOLDER_IMAGE, type InitOptions, type InitResult } from "./kit/init.js";
export {
  buildKitArtifact,
  KitConfigSchema,
  KIT_ARTIFACT_TYPE,
  KIT_CONFIG_MEDIA_TYPE,
  KIT_YAML_MEDIA_TYPE,
  README_MEDIA_TYPE,
  Annotation,
  type KitArtifact,
  type KitConfig,
  type ArtifactInput,
} from "./kit/artifact.js";
export { checkKitManifestJson, checkKitConfig, NotAKitError } from "./kit/verify-artifact.js";
export { canonicalJson } from "./kit/canonical-json.js";
export { OciError, type ErrorCode } from "./oras/errors.js";

export { validateKit, type ValidationReport } from "./kit/validate.js";
export { buildKit, withForm, type BuildKitOptions, type BuiltKit } from "./kit/pack.js";
export { pushKit, packKit, type PackOptions, type PushKitOptions, type PushOptions, type PushResult } from "./kit/push.js";
export { pullKit, resolveKit, fetchKit, type PullOptions, type PullResult, type ResolvedKit } from "./kit/pull.js";
export { inspectKit, type KitInspection } from "./kit/inspect.js";
export { parseTrustPattern, trustPatternMatches, trustScopeFor, type TrustOutcome, type TrustPattern, type TrustPolicy, type TrustScope } from "./kit/trust.js";
export { pinImage } from "./kit/pin.js";
export {
  loadKitSettings,
  checkConfig,
  checkConfigFile,
  readConfigFile,
  settingsFrom,
  ConfigFileSchema,
  ConfigValidationError,
  NO_SETTINGS,
  type ConfigFile,
  type KitSettings,
} from "./kit/config.js";
export { configFileLocation, KIT_CONFIG_ENV, type ConfigFileLocation } from "./kit/config-path.js";
export { containerdHostsFiles, registriesConfFragment, EXPORT_FORMATS, type ExportFormat, type HostsFile } from "./kit/config-export.js";
export {
  parseKitReference,
  formatKitReference,
  isShortKitReference,
  parseShortKitReference,
  type KitReference,
  type StoreReference,
  type ShortKitReference,
} from "./kit/reference.js";
export { KitStore, defaultStorePath, KIT_STORE_ENV, type StoreEntry, type StoredKit, type GcResult } from "./kit/store.js";
export type { RemoteOptions, RegistryHostOptions } from "./oras/remote/registry-client.js";
export type { MirrorPolicies, RegistryMirrorPolicy, PullFromMirror } from "./oras/mirrors.js";
export { dockerCredentials } from "./oras/remote/auth/docker-config.js";
export { diffKits, type KitDiff, type KitChange, type ChangeKind, type DiffableKit } from "./kit/diff.js";
export { readKitReference, type ReadKit, type ReadKitReferenceOptions } from "./kit/read-reference.js";
export { kitYamlWithImage } from "./kit/pinned-yaml.js";
export { saveBundle, type SaveBundleOptions, type SaveBundleResult } from "./kit/bundle/save.js";
export { loadBundle, type LoadBundleOptions, type LoadBundleResult, type LoadedEntry } from "./kit/bundle/load.js";
export type { LoadStats } from "./kit/bundle/load-registry.js";
export { listBundle, type BundleListing } from "./kit/bundle/list.js";
export type { BundleRoot } from "./kit/bundle/roots.js";
export type { BundleEntryKind } from "./kit/bundle/format.js";
export { BUNDLE_COMPRESSIONS, zstdAvailable, type BundleCompression } from "./kit/bundle/compression.js";
export type { BundleProgressEvent, BundlePhase, BundleProgress } from "./kit/bundle/progress.js";
export {
  mirrorKits,
  executeMirror,
  type MirrorPlan,
  type MirrorRoot,
  type MirrorRootKind,
  type MirrorRootResult,
  type MirrorResult,
  type MirrorTag,
  type MirrorInput,
  type MirrorOptions,
  type ExecuteMirrorOptions,
  type MirrorProgressEvent,
} from "./kit/mirror.js";
export { readMirrorList, parseMirrorList, checkMirrorList, type MirrorList, type MirrorListEntry, type MirrorListRepository } from "./kit/mirror-list.js";
export { parseSemverRange, parseTagGlob, tagVersion, compareVersions, type SemVer } from "./kit/tag-selection.js";
