import { formatReference, parseTargetReference } from "../../oras/reference.js";
import { copyReference } from "../../oras/targets.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { debugProgress, parseConcurrency } from "../copy-flags.js";
import { printJson, printLine } from "../output.js";
import { remoteOptions, type RemoteFlags } from "../remote-options.js";

interface CopyFlags extends RemoteFlags {
  concurrency?: string;
  dryRun?: boolean;
  json?: boolean;
}

export async function run(srcText: string, dstText: string, flags: CopyFlags): Promise<void> {
  const concurrency = parseConcurrency(flags.concurrency);
  const srcRef = parseTargetReference(srcText);
  const dstRef = parseTargetReference(dstText);
  const dryRun = flags.dryRun ?? false;
  const debug = debugProgress();
  const result = await sayingExpandedNames(
    [
      [srcText, srcRef],
      [dstText, dstRef],
    ],
    () => copyReference(srcRef, dstRef, { remote: remoteOptions(flags), concurrency, dryRun, ...(debug ? { onProgress: debug } : {}) }),
  );

  const dstName = formatReference({ ...dstRef, tag: undefined, digest: result.root.digest });
  if (flags.json) {
    printJson({
      source: formatReference(srcRef),
      destination: dstName,
      digest: result.root.digest,
      mediaType: result.root.mediaType,
      size: result.root.size,
      ...(result.tag !== undefined ? { tag: result.tag } : {}),
      dryRun,
      plan: result.plan,
      ...(result.stats ? { stats: result.stats } : {}),
    });
    return;
  }
  if (dryRun) {
    for (const node of result.plan.nodes) {
      printLine(`${node.action.padEnd(6)} ${node.kind.padEnd(8)} ${node.descriptor.digest} ${node.descriptor.size}`);
    }
    printLine(`would copy ${result.plan.bytesToTransfer} of ${result.plan.totalBytes} bytes`);
  }
  printLine(result.root.digest);
}
