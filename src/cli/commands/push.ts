import { pushKit } from "../../kit/push.js";
import { parseTargetReference } from "../../oras/reference.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine, printWarning } from "../output.js";
import { copyProgress, createProgress } from "../progress/index.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

interface PushFlags extends RemoteFlags {
  tag?: string[];
  pin?: boolean;
  attach?: boolean;
  created?: string;
  json?: boolean;
  quiet?: boolean;
}

export async function run(ref: string, dir: string, flags: PushFlags): Promise<void> {
  const target = parseTargetReference(ref);
  const progress = await createProgress(flags);
  const { remote } = await registrySettings(flags);
  const result = await sayingExpandedNames([[ref, target]], () =>
    pushKit(target, dir, {
      pin: flags.pin !== false,
      tags: flags.tag ?? [],
      remote,
      attach: flags.attach ?? false,
      ...(flags.created !== undefined ? { created: flags.created } : {}),
      ...copyProgress(progress),
    }),
  ).finally(() => progress.finish());
  for (const warning of result.warnings) printWarning(warning);
  if (flags.json) printJson(result);
  else {
    printLine(result.reference);
    if (result.attached !== undefined) printLine(`attached to its image as ${result.attached}`);
  }
}
