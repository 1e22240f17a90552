/**
 * kit save / kit load events on the progress display. Each phase (save;
 * load's verifying read, then its writing read) has its own rows, so a blob
 * verified and then written shows twice, once per read; blobs a phase
 * announces up front count in its totals from the start, others as met.
 */
import type { BundleProgress } from "../../kit/bundle/progress.js";
import type { Descriptor } from "../../oras/content.js";
import { shortDigest } from "../table.js";
import type { TransferProgress } from "./types.js";

export function bundleProgressListener(progress: TransferProgress): BundleProgress {
  const id = (phase: string, d: Descriptor) => `${phase}:${d.digest}`;
  const item = (phase: string, d: Descriptor) => ({ id: id(phase, d), label: `${phase} ${shortDigest(d.digest)}`, bytes: d.size });
  return (event) => {
    switch (event.type) {
      case "phase":
        if (event.items !== undefined) progress.plan(event.items.map((d) => item(event.phase, d)));
        break;
      case "start":
        progress.plan([item(event.phase, event.descriptor)]);
        progress.start(id(event.phase, event.descriptor));
        break;
      case "bytes":
        progress.bytes(id(event.phase, event.descriptor), event.transferred);
        break;
      case "done":
        progress.done(id(event.phase, event.descriptor), event.via === "mount" ? "mount" : "transfer");
        break;
      case "skip":
        progress.plan([{ ...item(event.phase, event.descriptor), skipped: true }]);
        break;
    }
  };
}
