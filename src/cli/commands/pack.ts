import { packKit } from "../../kit/push.js";
import { printJson, printLine, printWarning } from "../output.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

interface PackFlags extends RemoteFlags {
  output?: string;
  pin?: boolean;
  created?: string;
  json?: boolean;
}

/** pack writes into an OCI image layout: no registry needed (except to pin a tag-only image). */
export async function run(dir: string, flags: PackFlags): Promise<void> {
  // commander requires --output; the library parses it (a PATH with or without oci:).
  const result = await packKit(dir, flags.output!, {
    pin: flags.pin !== false,
    remote: (await registrySettings(flags)).remote,
    ...(flags.created !== undefined ? { created: flags.created } : {}),
  });
  for (const warning of result.warnings) printWarning(warning);
  if (flags.json) printJson(result);
  else printLine(result.reference);
}
