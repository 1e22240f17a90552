/** The config file's trust policy alone, for commands that need no registry (a store pull): the registry client is not loaded. */
import { hasConfigFile } from "../kit/config-path.js";
import type { TrustPolicy } from "../kit/trust.js";

export async function trustPolicy(env: NodeJS.ProcessEnv = process.env): Promise<TrustPolicy> {
  if (!(await hasConfigFile(env))) return { scopes: [] };
  const { loadKitSettings } = await import("../kit/config.js");
  return (await loadKitSettings(undefined, env)).trust;
}
