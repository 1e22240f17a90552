import { copy } from "../../oras/copy/index.js";
import { UsageError } from "../../oras/errors.js";
import { formatReference, parseTargetReference } from "../../oras/reference.js";
import { openTarget, resolveTarget } from "../../oras/targets.js";
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
  const remote = remoteOptions(flags);
  const src = await openTarget(srcRef, { remote });
  const dst = await openTarget(dstRef, { remote, create: !flags.dryRun });
  const root = await resolveTarget(src);

  if (dstRef.digest !== undefined && dstRef.digest !== root.digest) {
    throw new UsageError(`destination ${dstText} names digest ${dstRef.digest}, but the source is ${root.digest}`);
  }
  // Like oras and skopeo: an untagged destination takes the source's tag.
  const tag = dstRef.tag ?? srcRef.tag;
  const bothRegistries = src.kind === "registry" && dst.kind === "registry";
  const sameRegistry = bothRegistries && src.ref.registry === dst.ref.registry && src.ref.repository !== dst.ref.repository;

  const result = await copy(src.target, root.digest, dst.target, tag, {
    concurrency,
    dryRun: flags.dryRun ?? false,
    // A destination registry checks every blob's digest on PUT, so re-hashing here would only cost CPU.
    verifySource: !bothRegistries,
    ...(sameRegistry ? { mountFrom: src.ref.kind === "registry" ? src.ref.repository : undefined, canMount: () => true } : {}),
  });

  const dstName = formatReference({ ...dstRef, tag: undefined, digest: result.root.digest });
  if (flags.json) {
    printJson({
      source: formatReference(srcRef),
      destination: dstName,
      digest: result.root.digest,
      mediaType: result.root.mediaType,
      size: result.root.size,
      ...(tag !== undefined ? { tag } : {}),
      dryRun: flags.dryRun ?? false,
      plan: result.plan,
      ...(result.stats ? { stats: result.stats } : {}),
    });
    return;
  }
  if (flags.dryRun) {
    for (const node of result.plan.nodes) {
      printLine(`${node.action.padEnd(6)} ${node.kind.padEnd(8)} ${node.descriptor.digest} ${node.descriptor.size}`);
    }
    printLine(`would copy ${result.plan.bytesToTransfer} of ${result.plan.totalBytes} bytes`);
  }
  printLine(result.root.digest);
}

function parseConcurrency(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`invalid --concurrency "${text}": use an integer from 1 to 64`);
  return n;
}
