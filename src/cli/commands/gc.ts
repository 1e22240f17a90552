import path from "node:path";
import { defaultStorePath, KitStore } from "../../kit/store.js";
import type { GcResult } from "../../oras/layout/index.js";
import { openLayoutOption } from "../layout-option.js";
import { printJson, printLine } from "../output.js";

export async function run(flags: { json?: boolean; layout?: string }): Promise<void> {
  let result: GcResult;
  let missingStore = false;
  if (flags.layout !== undefined) {
    result = await (await openLayoutOption(flags.layout)).collectGarbage();
  } else {
    const store = await KitStore.openIfExists();
    missingStore = store === undefined;
    result = store ? await store.gc() : { removedBlobs: 0, freedBytes: 0 };
  }
  const { removedBlobs, freedBytes } = result;
  if (flags.json) printJson({ removedBlobs, freedBytes });
  else if (missingStore) printLine(`the local store ${path.resolve(defaultStorePath())} is empty: nothing to collect`);
  else printLine(`removed ${removedBlobs} blobs, freed ${freedBytes} bytes`);
}
