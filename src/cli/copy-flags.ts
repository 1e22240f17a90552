/** What the commands that copy graphs (`kit copy`, `kit mirror`) share: --concurrency, and --debug lines for blobs sent again. */
import type { CopyProgressEvent } from "../oras/copy/index.js";
import { UsageError } from "../oras/errors.js";
import { debugEnabled } from "./exit.js";
import { printError } from "./output.js";

export function parseConcurrency(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`invalid --concurrency "${text}": use an integer from 1 to 64`);
  return n;
}

/** With --debug, a listener printing a line for each blob upload copy begins again; undefined without. */
export function debugProgress(): ((event: CopyProgressEvent) => void) | undefined {
  if (!debugEnabled(process.argv)) return undefined;
  return (event) => {
    if (event.type !== "retry") return;
    const reason = event.error instanceof Error ? event.error.message : String(event.error);
    printError(`kit: debug: ${reason}; sending blob ${event.node.descriptor.digest} again (attempt ${event.attempt})`);
  };
}
