import { formatReference, parseTargetReference } from "../../oras/reference.js";
import { copyReference } from "../../oras/targets.js";
import { sayingExpandedNames } from "../implied-registry.js";
import type { CopyProgressEvent } from "../../oras/copy/index.js";
import { debugProgress, parseConcurrency } from "../copy-flags.js";
import { printJson, printLine } from "../output.js";
import { copyProgress, createProgress } from "../progress/index.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

interface CopyFlags extends RemoteFlags {
  concurrency?: string;
  dryRun?: boolean;
  recursive?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export async function run(srcText: string, dstText: string, flags: CopyFlags): Promise<void> {
  const concurrency = parseConcurrency(flags.concurrency);
  const srcRef = parseTargetReference(srcText);
  const dstRef = parseTargetReference(dstText);
  const dryRun = flags.dryRun ?? false;
  const progress = await createProgress(dryRun ? { quiet: true } : flags);
  const { onPlan, onProgress } = copyProgress(progress);
  const debug = debugProgress();
  const listen = (event: CopyProgressEvent): void => {
    onProgress(event);
    debug?.(event);
  };
  const { remote, mirrors } = await registrySettings(flags);
  const result = await sayingExpandedNames(
    [
      [srcText, srcRef],
      [dstText, dstRef],
    ],
    () => copyReference(srcRef, dstRef, { remote, sourceMirrors: mirrors, concurrency, dryRun, referrers: flags.recursive ?? false, onPlan, onProgress: listen }),
  ).finally(() => progress.finish());

  const dstName = formatReference({ ...dstRef, tag: undefined, digest: result.root.digest });
  if (flags.json) {
    printJson({
      source: formatReference(srcRef),
      // The repository the source was read from: its own, or the mirror's that served it.
      sourceEndpoint: formatReference({ ...result.sourceEndpoint, tag: undefined, digest: undefined }),
      destination: dstName,
      digest: result.root.digest,
      mediaType: result.root.mediaType,
      size: result.root.size,
      ...(result.tag !== undefined ? { tag: result.tag } : {}),
      dryRun,
      plan: result.plan,
      ...(result.stats ? { stats: result.stats } : {}),
      ...(result.referrers ? { referrers: result.referrers.map((r) => ({ digest: r.descriptor.digest, artifactType: r.descriptor.artifactType ?? null, subject: r.subject, ...(r.tag !== undefined ? { tag: r.tag } : {}), ...(r.stats ? { stats: r.stats } : {}) })) } : {}),
    });
    return;
  }
  if (dryRun) {
    for (const node of result.plan.nodes) {
      printLine(`${node.action.padEnd(6)} ${node.kind.padEnd(8)} ${node.descriptor.digest} ${node.descriptor.size}`);
    }
    printLine(`would copy ${result.plan.bytesToTransfer} of ${result.plan.totalBytes} bytes`);
  }
  for (const r of result.referrers ?? []) {
    const what = r.tag !== undefined ? `attachment ${r.descriptor.digest} (tag ${r.tag})` : `referrer ${r.descriptor.digest}${r.descriptor.artifactType ? ` (${r.descriptor.artifactType})` : ""}`;
    printLine(`${dryRun ? "would copy" : "copied"} ${what} of ${r.subject}`);
  }
  printLine(result.root.digest);
}
