import { formatReference, parseTargetReference } from "../../oras/reference.js";
import { openTarget, resolveTarget } from "../../oras/targets.js";
import { printJson, printLine } from "../output.js";
import { remoteOptions, type RemoteFlags } from "../remote-options.js";

export async function run(refText: string, flags: RemoteFlags & { json?: boolean }): Promise<void> {
  const ref = parseTargetReference(refText);
  const opened = await openTarget(ref, { remote: remoteOptions(flags) });
  const desc = await resolveTarget(opened);
  const pinned = formatReference({ ...ref, tag: undefined, digest: desc.digest });
  if (flags.json) printJson({ reference: pinned, digest: desc.digest, mediaType: desc.mediaType, size: desc.size });
  else printLine(pinned);
}
