import { UsageError } from "../../oras/errors.js";
import { formatReference, parseTargetReference } from "../../oras/reference.js";
import { copyReference } from "../../oras/targets.js";
import { sayingExpandedNames } from "../implied-registry.js";
import type { CopyProgressEvent } from "../../oras/copy/index.js";
import { printError, printJson, printLine } from "../output.js";
import { debugEnabled } from "../exit.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

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
  const { remote, mirrors } = await registrySettings(flags);
  const result = await sayingExpandedNames(
    [
      [srcText, srcRef],
      [dstText, dstRef],
    ],
    () => copyReference(srcRef, dstRef, { remote, sourceMirrors: mirrors, concurrency, dryRun, ...debugProgress() }),
  );

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

/** With --debug, a line for each blob upload copy begins again. */
function debugProgress(): { onProgress?: (event: CopyProgressEvent) => void } {
  if (!debugEnabled(process.argv)) return {};
  return {
    onProgress: (event) => {
      if (event.type !== "retry") return;
      const reason = event.error instanceof Error ? event.error.message : String(event.error);
      printError(`kit: debug: ${reason}; sending blob ${event.node.descriptor.digest} again (attempt ${event.attempt})`);
    },
  };
}

function parseConcurrency(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`invalid --concurrency "${text}": use an integer from 1 to 64`);
  return n;
}
