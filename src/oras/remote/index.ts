/** The registry client: repositories and registries as Targets, auth, docker credentials. */
export { RemoteRepository, type PushManifestOptions } from "./repository.js";
export { RemoteRegistry } from "./registry.js";
export { RegistryClient, registryScheme, type RemoteOptions } from "./registry-client.js";
export { RegistryCapabilities, refusesOci11Fields, type RegistryFeatures, type Support } from "./capabilities.js";
export { closeSharedAgents } from "./http.js";
export { noProxyMatcher, parseProxyUrl, proxyLabel, proxySelector, type ProxySelector, type ProxySettings } from "./proxy.js";
export { DEFAULT_RETRY_POLICY, type RetryEvent, type RetryPolicy } from "./retry.js";
export { DEFAULT_TIMEOUTS, resolveTimeouts, type Timeouts } from "./timeouts.js";
export { DEFAULT_UPLOAD_POLICY, type UploadPolicy } from "./upload-policy.js";
export { DEFAULT_LOGIN_COMMAND } from "./response-errors.js";
export { AuthCache, DEFAULT_OAUTH_CLIENT_ID } from "./auth/client.js";
export { memoiseCredentials, staticCredentials, type Credential, type CredentialProvider } from "./auth/credentials.js";
export {
  dockerConfigPath,
  dockerCredentials,
  eraseDockerCredential,
  lookupDockerCredential,
  storeDockerCredential,
  type DockerConfigOptions,
} from "./auth/docker-config.js";
export type { ManifestContent } from "./manifests.js";
export { hostOptions, type RegistryHostOptions } from "./registry-client.js";
