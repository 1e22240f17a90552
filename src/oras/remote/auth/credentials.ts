/** Credentials for a registry, and where they come from. */

export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged for access tokens. */
  identityToken?: string;
  /** A bearer token used as is (docker's `registrytoken`). */
  registryToken?: string;
}

/**
 * Looks up the credential for a registry host (`host[:port]`, Docker Hub as
 * `docker.io`); undefined = anonymous. The client asks whenever it needs a
 * credential, so a provider that does I/O memoises (memoiseCredentials).
 */
export type CredentialProvider = (registry: string) => Promise<Credential | undefined>;

export function isEmptyCredential(cred: Credential | undefined): boolean {
  return !cred || (!cred.username && !cred.password && !cred.identityToken && !cred.registryToken);
}

/** Fixed credentials per registry host (used by `login` to test new ones before saving them). */
export function staticCredentials(byRegistry: Record<string, Credential>): CredentialProvider {
  const map = new Map(Object.entries(byRegistry));
  return async (registry) => map.get(registry);
}

/** Ask the provider once per registry and reuse the answer (a provider may spawn a helper process); a failure is asked again. */
export function memoiseCredentials(provider: CredentialProvider): CredentialProvider {
  const cache = new Map<string, Promise<Credential | undefined>>();
  return (registry) => {
    let pending = cache.get(registry);
    if (!pending) {
      pending = provider(registry);
      cache.set(registry, pending);
      pending.catch(() => cache.delete(registry));
    }
    return pending;
  };
}
