/**
 * What the config file ($KIT_CONFIG, default ~/.config/aegis/kit.yaml) sets,
 * for the CLI: YAML and zod are loaded only when there is a file to read,
 * and nothing of the registry client, so a store pull can ask for its trust
 * policy alone.
 */
import { hasConfigFile } from "../kit/config-path.js";
import type { KitSettings } from "../kit/config.js";
import type { TrustPolicy } from "../kit/trust.js";

/** The checked config file's settings; undefined when there is none. */
export async function configSettings(env: NodeJS.ProcessEnv = process.env): Promise<KitSettings | undefined> {
  if (!(await hasConfigFile(env))) return undefined;
  const { loadKitSettings } = await import("../kit/config.js");
  return loadKitSettings(undefined, env);
}

export async function trustPolicy(env: NodeJS.ProcessEnv = process.env): Promise<TrustPolicy> {
  return (await configSettings(env))?.trust ?? { scopes: [] };
}
