import { UsageError } from "../../oras/errors.js";
import { parseTargetReference } from "../../oras/reference.js";
import { openTarget } from "../../oras/targets.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine } from "../output.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

export async function run(repoText: string, flags: RemoteFlags & { json?: boolean }): Promise<void> {
  const ref = parseTargetReference(repoText);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(`kit tags takes a repository, not a reference: drop the tag or digest from "${repoText}"`);
  }
  const { remote } = await registrySettings(flags);
  const tags: string[] = [];
  await sayingExpandedNames([[repoText, ref]], async () => {
    const opened = await openTarget(ref, { remote });
    for await (const tag of opened.target.tags()) {
      if (flags.json) tags.push(tag);
      else printLine(tag);
    }
  });
  if (flags.json) printJson({ tags });
}
