import { formatReference, parseTargetReference } from "../../oras/reference.js";
import { openTarget, resolveTarget } from "../../oras/targets.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine } from "../output.js";
import { remoteOptions, type RemoteFlags } from "../remote-options.js";

export async function run(refText: string, flags: RemoteFlags & { json?: boolean }): Promise<void> {
  const ref = parseTargetReference(refText);
  const desc = await sayingExpandedNames([[refText, ref]], async () => resolveTarget(await openTarget(ref, { remote: remoteOptions(flags) })));
  const pinned = formatReference({ ...ref, tag: undefined, digest: desc.digest });
  if (flags.json) printJson({ reference: pinned, digest: desc.digest, mediaType: desc.mediaType, size: desc.size });
  else printLine(pinned);
}
