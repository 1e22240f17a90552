/**
 * Transfer progress for the commands that move blobs (copy, push, pull, and
 * any other that copies a graph). Cheap to import: the terminal part, and
 * the library that draws it, load only when there is a terminal to draw on.
 *
 *   const progress = await createProgress({ quiet: flags.quiet, json: flags.json });
 *   try {
 *     await copyReference(src, dst, { ...copyProgress(progress) });
 *   } finally {
 *     await progress.finish();
 *   }
 *   printLine(…the final line, as without progress…);
 */
import type { CopyProgressEvent, CopyProgressOptions, PlanNode } from "../../oras/copy/index.js";
import { Annotation } from "../../kit/format.js";
import { shortDigest } from "../table.js";
import type { ProgressItem, TransferProgress } from "./types.js";

export type { ProgressItem, TransferProgress } from "./types.js";

export interface ProgressFlags {
  /** --quiet: no progress. */
  quiet?: boolean;
  /** --json: the document alone; no progress either. */
  json?: boolean;
}

/** Progress that shows nothing: for pipes, --quiet, --json and dumb terminals. */
export const NO_PROGRESS: TransferProgress = {
  plan() {},
  start() {},
  bytes() {},
  done() {},
  finish: () => Promise.resolve(),
};

/** Whether progress is drawn: stderr is a terminal that can move its cursor, and neither --quiet nor --json. */
export function showsProgress(flags: ProgressFlags, stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !flags.quiet && !flags.json && env.TERM !== "dumb";
}

export async function createProgress(flags: ProgressFlags): Promise<TransferProgress> {
  if (!showsProgress(flags)) return NO_PROGRESS;
  const { createTerminalProgress } = await import("./terminal.js");
  return createTerminalProgress();
}

/** A copy's plan and events, told to `progress`: spread it into copy, pushKit or pullKit options. */
export function copyProgress(progress: TransferProgress): Required<CopyProgressOptions> {
  return {
    onPlan: (plan) => progress.plan(plan.nodes.map(progressItem)),
    onProgress: copyProgressListener(progress),
  };
}

/** Copy events as progress calls; with copyProgress's onPlan, or after calling progress.plan yourself. */
export function copyProgressListener(progress: TransferProgress): (event: CopyProgressEvent) => void {
  return (event) => {
    switch (event.type) {
      case "start":
        progress.start(event.node.descriptor.digest);
        break;
      case "bytes":
        progress.bytes(event.node.descriptor.digest, event.transferred);
        break;
      case "retry":
        // Sent again from its first byte.
        progress.bytes(event.node.descriptor.digest, 0);
        break;
      case "done":
        progress.done(event.node.descriptor.digest, event.via === "mount" ? "mount" : "transfer");
        break;
      case "skip":
      case "tag":
        break;
    }
  };
}

/** A plan node as a row: its title when it has one (kit.yaml, README.md), else its kind, with a short digest. */
export function progressItem(node: PlanNode): ProgressItem {
  const digest = shortDigest(node.descriptor.digest);
  const title = node.descriptor.annotations?.[Annotation.Title];
  return {
    id: node.descriptor.digest,
    label: title ? `${title} ${digest}` : `${node.kind} ${digest}`,
    bytes: node.descriptor.size,
    skipped: node.action === "skip",
  };
}
