import { dockerCredentials, type RemoteOptions } from "../oras/remote/index.js";

/** Library callers get what the CLI gets: credentials from the Docker config unless they pass their own. */
export function withDefaultCredentials(remote: RemoteOptions | undefined): RemoteOptions {
  return remote?.credentials !== undefined ? remote : { ...remote, credentials: dockerCredentials() };
}
