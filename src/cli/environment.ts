/**
 * Every environment variable kit reads, for `kit help environment` and the
 * README (test/cli/commands.test.ts checks both against the sources).
 */
export const ENVIRONMENT: readonly { name: string; description: string }[] = [
  { name: "KIT_STORE", description: "the local store directory (default ~/.aegis/kits/store)" },
  { name: "KIT_CONFIG", description: "kit's config file: registry mirrors, plain_http, insecure (default ~/.config/aegis/kit.yaml; spec/config.md)" },
  { name: "KIT_KEY_PASSWORD", description: "the passphrase of the private key kit sign and kit push --sign use, and of the key kit key generate writes (else asked on the terminal)" },
  { name: "KIT_DEBUG", description: "1: print stack traces on errors, like --debug" },
  { name: "KIT_TIMEOUT", description: "like --timeout: the most one registry operation may take, retries included (e.g. 2m; default no limit)" },
  { name: "KIT_CONNECT_TIMEOUT", description: "like --connect-timeout: limit on connecting to a registry (default 30s)" },
  { name: "KIT_HEADERS_TIMEOUT", description: "like --headers-timeout: limit on waiting for a registry's response headers (default 60s)" },
  { name: "KIT_IDLE_TIMEOUT", description: "like --idle-timeout: limit on a registry's silence mid-response (default 30s)" },
  { name: "DOCKER_CONFIG", description: "directory of the Docker config.json holding registry credentials (default ~/.docker)" },
  { name: "HOME", description: "where the default store and Docker config live" },
  { name: "SOURCE_DATE_EPOCH", description: "seconds since 1970: the created timestamp pack and push record when --created is not given" },
  { name: "PATH", description: "where docker-credential-* helpers and git (for source and revision annotations) are found" },
  { name: "HTTPS_PROXY", description: "proxy for HTTPS registries, http://[USER:PASSWORD@]HOST:PORT (https_proxy is read first)" },
  { name: "HTTP_PROXY", description: "proxy for plain-HTTP registries (http_proxy is read first); loopback registries never use a proxy" },
  { name: "NO_PROXY", description: "hosts reached without a proxy: a comma list of domains (with subdomains), IPs, CIDR blocks, :PORT, or * (no_proxy first)" },
  { name: "XDG_CACHE_HOME", description: "V8's compiled code for kit is kept in $XDG_CACHE_HOME/aegis/kit-v8 (default ~/.cache/aegis/kit-v8)" },
  { name: "NODE_COMPILE_CACHE", description: "a compile cache directory: kit keeps its own V8 code cache in DIR/kit-v8 (default ~/.cache/aegis/kit-v8)" },
  { name: "NODE_DISABLE_COMPILE_CACHE", description: "1: compile kit from source on every start, keeping no compiled code" },
  { name: "NODE_EXTRA_CA_CERTS", description: "read by Node.js: extra CA certificates (PEM file) to trust for registries" },
  { name: "TERM", description: "dumb: no transfer progress, as on a pipe (such a terminal cannot redraw a line)" },
  { name: "NO_COLOR", description: "always holds: kit prints no colour at all, progress included" },
];

export function environmentHelp(): string {
  const width = Math.max(...ENVIRONMENT.map((e) => e.name.length));
  return ["Environment variables kit reads:", "", ...ENVIRONMENT.map((e) => `  ${e.name.padEnd(width)}  ${e.description}`), ""].join("\n");
}
