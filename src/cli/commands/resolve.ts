import { fromEndpoints } from "../../oras/mirrors.js";
import { formatReference, parseTargetReference, repositoryName } from "../../oras/reference.js";
import { openTarget, resolveTarget } from "../../oras/targets.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine } from "../output.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

export async function run(refText: string, flags: RemoteFlags & { json?: boolean }): Promise<void> {
  const ref = parseTargetReference(refText);
  const { remote, mirrors } = await registrySettings(flags);
  const { desc, endpoint } = await sayingExpandedNames([[refText, ref]], async () => {
    if (ref.kind === "layout") return { desc: await resolveTarget(await openTarget(ref, { remote })), endpoint: formatReference({ ...ref, tag: undefined, digest: undefined }) };
    // Through the mirrors, as pull goes: the digest printed is the one the endpoint that answered resolved the tag to.
    const served = await fromEndpoints(ref, mirrors.get(ref.registry), async (at) => resolveTarget(await openTarget(at.ref, { remote })));
    return { desc: served.value, endpoint: repositoryName(served.endpoint.ref) };
  });
  const pinned = formatReference({ ...ref, tag: undefined, digest: desc.digest });
  if (flags.json) printJson({ reference: pinned, digest: desc.digest, mediaType: desc.mediaType, size: desc.size, endpoint });
  else printLine(pinned);
}
