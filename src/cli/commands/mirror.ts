import { executeMirror, mirrorKits, type MirrorPlan, type MirrorRoot, type MirrorRootResult } from "../../kit/mirror.js";
import { readMirrorList } from "../../kit/mirror-list.js";
import { parseKitReference } from "../../kit/reference.js";
import { parseMirrorLocation } from "../../oras/mirror-location.js";
import { UsageError } from "../../oras/errors.js";
import { debugProgress, parseConcurrency } from "../copy-flags.js";
import { sayingExpandedNames, type WrittenReference } from "../implied-registry.js";
import { printJson, printLine, printWarning } from "../output.js";
import { copyProgress, createProgress } from "../progress/index.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

interface MirrorFlags extends RemoteFlags {
  to: string;
  file?: string;
  allowUnpinned?: boolean;
  concurrency?: string;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  referrers?: boolean;
}

export async function run(refs: string[], flags: MirrorFlags): Promise<void> {
  const concurrency = parseConcurrency(flags.concurrency);
  const location = parseMirrorLocation(flags.to);
  const written: WrittenReference[] = refs.map((ref) => [ref, parseKitReference(ref)]);
  const list = flags.file !== undefined ? await readMirrorList(flags.file) : { kits: [] };
  const entries = [...refs, ...list.kits];
  if (entries.length === 0) {
    throw new UsageError("kit mirror needs kits: name them as arguments or list them in a file with -f", { hint: 'run "kit mirror --help" for usage' });
  }
  const dryRun = flags.dryRun ?? false;
  const opts = {
    remote: (await registrySettings(flags)).remote,
    allowUnpinned: flags.allowUnpinned ?? false,
    referrers: flags.referrers !== false,
    ...(concurrency !== undefined ? { concurrency } : {}),
  };
  const plan = await sayingExpandedNames(written, () => mirrorKits(entries, location, opts));
  for (const warning of plan.warnings) printWarning(warning);
  if (dryRun) {
    if (flags.json) printJson(document(plan, true));
    else printPlan(plan);
    return;
  }
  const debug = debugProgress();
  const progress = await createProgress(flags);
  // The plan is known before anything moves: every root's nodes are the display's totals, rows as copy shows them.
  const { onPlan, onProgress: show } = copyProgress(progress);
  for (const root of plan.roots) onPlan(root.plan);
  const result = await sayingExpandedNames(written, () =>
    executeMirror(plan, {
      ...opts,
      onProgress: (event) => {
        show(event);
        debug?.(event);
      },
    }),
  ).finally(() => progress.finish());
  if (flags.json) {
    printJson({ ...document(result, false), bytesTransferred: result.bytesTransferred });
    return;
  }
  for (const root of result.roots) printLine(`mirrored ${describe(root, counts(root))}`);
  printLine(`mirrored ${summary(plan)} to ${plan.destination}: ${result.bytesTransferred} bytes transferred`);
}

/** The --json document: the plan, and after a copy each root's stats. */
function document(plan: MirrorPlan & { roots: Array<MirrorRoot | MirrorRootResult> }, dryRun: boolean) {
  return {
    destination: plan.destination,
    dryRun,
    roots: plan.roots,
    totalBytes: plan.totalBytes,
    bytesToTransfer: plan.bytesToTransfer,
    warnings: plan.warnings,
  };
}

function printPlan(plan: MirrorPlan): void {
  for (const root of plan.roots) {
    printLine(describe(root));
    for (const node of root.plan.nodes) {
      printLine(`  ${node.action.padEnd(6)} ${node.kind.padEnd(8)} ${node.descriptor.digest} ${node.descriptor.size}`);
    }
  }
  const uploads = plan.roots.reduce((n, r) => n + r.actions.upload, 0);
  const mounts = plan.roots.reduce((n, r) => n + r.actions.mount, 0);
  printLine(`would mirror ${summary(plan)} to ${plan.destination}: ${uploads} uploads, ${mounts} mounts, ${plan.bytesToTransfer} of ${plan.totalBytes} bytes to copy`);
}

/** `kit   SRC -> DST (tags 1.0.0, stable; …)`, saying which tags move from another digest. */
function describe(root: MirrorRoot, ...more: string[]): string {
  const tags = root.tags.map((t) => (t.current !== null && t.current !== root.digest ? `${t.tag} moved from ${t.current}` : t.tag));
  const details = [
    tags.length === 0 ? "untagged" : `tag${tags.length > 1 ? "s" : ""} ${tags.join(", ")}`,
    ...(root.unpinned ? ["resolved now: the kit is unpinned"] : []),
    ...more,
  ];
  return `${root.kind.padEnd(5)} ${root.source} -> ${root.destination} (${details.join("; ")})`;
}

function counts(root: MirrorRootResult): string {
  const s = root.stats;
  return `${s.uploaded} uploaded, ${s.mounted} mounted, ${s.skipped} skipped, ${s.bytesTransferred} bytes`;
}

function summary(plan: MirrorPlan): string {
  const kits = plan.roots.filter((r) => r.kind === "kit").length;
  const images = plan.roots.length - kits;
  return `${kits} kit${kits === 1 ? "" : "s"} and ${images} image${images === 1 ? "" : "s"}`;
}
