import path from "node:path";
import { defaultStorePath, KitStore } from "../../kit/store.js";
import { printJson, printLine } from "../output.js";

export async function run(flags: { json?: boolean }): Promise<void> {
  const store = await KitStore.openIfExists();
  const { removedBlobs, freedBytes } = store ? await store.gc() : { removedBlobs: 0, freedBytes: 0 };
  if (flags.json) printJson({ removedBlobs, freedBytes });
  else if (!store) printLine(`the local store ${path.resolve(defaultStorePath())} is empty: nothing to collect`);
  else printLine(`removed ${removedBlobs} blobs, freed ${freedBytes} bytes`);
}
