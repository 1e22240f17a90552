import { parseTargetReference } from "../../oras/reference.js";
import { fetchManifestOf, openTarget } from "../../oras/targets.js";
import { writeStdout } from "../output.js";
import { remoteOptions, type RemoteFlags } from "../remote-options.js";

/** The manifest bytes exactly as stored (verified against their digest), nothing added. */
export async function run(refText: string, flags: RemoteFlags): Promise<void> {
  const opened = await openTarget(parseTargetReference(refText), { remote: remoteOptions(flags) });
  const { bytes } = await fetchManifestOf(opened);
  writeStdout(bytes);
}
