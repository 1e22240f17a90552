import { parseTargetReference } from "../../oras/reference.js";
import { fetchManifestOf, openTarget } from "../../oras/targets.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { writeStdout } from "../output.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

/** The manifest bytes exactly as stored (verified against their digest), nothing added. */
export async function run(refText: string, flags: RemoteFlags): Promise<void> {
  const ref = parseTargetReference(refText);
  const { remote } = await registrySettings(flags);
  const { bytes } = await sayingExpandedNames([[refText, ref]], async () => fetchManifestOf(await openTarget(ref, { remote })));
  writeStdout(bytes);
}
