import { copyGraph } from "../../oras/copy/index.js";
import { NotFoundError, UsageError } from "../../oras/errors.js";
import { MemoryStore } from "../../oras/memory.js";
import type { RemoteOptions } from "../../oras/remote/registry-client.js";
import { formatReference, parseTargetReference, type TargetReference } from "../../oras/reference.js";
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
  const dst = await openDestination(dstRef, remote, flags.dryRun ?? false);
  const root = await resolveTarget(src);

  if (dstRef.digest !== undefined && dstRef.digest !== root.digest) {
    throw new UsageError(`destination ${dstText} names digest ${dstRef.digest}, but the source is ${root.digest}`);
  }
  // Like oras and skopeo: an untagged destination takes the source's tag.
  const tag = dstRef.tag ?? srcRef.tag;
  const bothRegistries = src.kind === "registry" && dst.kind === "registry";
  // Within one registry a blob is mounted from the source repository instead of uploaded again.
  const mountFrom =
    src.kind === "registry" && dst.kind === "registry" && src.ref.registry === dst.ref.registry && src.ref.repository !== dst.ref.repository
      ? src.ref.repository
      : undefined;

  // The root is resolved already (and checked against DST's digest): copy its graph without resolving it again.
  const result = await copyGraph(src.target, dst.target, root, {
    ...(tag !== undefined ? { tag } : {}),
    concurrency,
    dryRun: flags.dryRun ?? false,
    // A destination registry checks every blob's digest on PUT, so re-hashing here would only cost CPU.
    verifySource: !bothRegistries,
    ...(mountFrom !== undefined ? { mountFrom, canMount: () => true } : {}),
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

/**
 * A dry run must not create anything, so a layout that does not exist yet is
 * planned against an empty store: everything would be uploaded.
 */
async function openDestination(ref: TargetReference, remote: RemoteOptions, dryRun: boolean) {
  try {
    return await openTarget(ref, { remote, create: !dryRun });
  } catch (err) {
    if (!(dryRun && ref.kind === "layout" && err instanceof NotFoundError)) throw err;
    return { kind: "memory" as const, ref: undefined, target: new MemoryStore(formatReference(ref)) };
  }
}

function parseConcurrency(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`invalid --concurrency "${text}": use an integer from 1 to 64`);
  return n;
}
