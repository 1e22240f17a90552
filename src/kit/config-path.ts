/**
 * Where kit's own config file is: `$KIT_CONFIG`, else
 * `~/.config/aegis/kit.yaml`. Apart from its schema (config.ts) so a command
 * can look for the file without loading YAML and zod when there is none.
 */
import { homedir } from "node:os";
import path from "node:path";
import { fsCalls } from "../oras/content.js";

const { access } = fsCalls;

export const KIT_CONFIG_ENV = "KIT_CONFIG";

export interface ConfigFileLocation {
  file: string;
  /** Named by $KIT_CONFIG or the caller: then a missing file is an error, while a missing default file is no config. */
  explicit: boolean;
}

export function configFileLocation(env: NodeJS.ProcessEnv = process.env): ConfigFileLocation {
  const configured = env[KIT_CONFIG_ENV];
  if (configured !== undefined && configured !== "") return { file: configured, explicit: true };
  return { file: path.join(env.HOME || homedir(), ".config/aegis/kit.yaml"), explicit: false };
}

/** Whether there is a config file to read: a named one always (reading it says when it is missing), the default one when it exists. */
export async function hasConfigFile(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const location = configFileLocation(env);
  return location.explicit || access(location.file).then(
    () => true,
    () => false,
  );
}
