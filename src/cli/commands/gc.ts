import { KitStore } from "../../kit/store.js";
import { printJson, printLine } from "../output.js";

export async function run(flags: { json?: boolean }): Promise<void> {
  const store = await KitStore.openIfExists();
  const { removedBlobs, freedBytes } = store ? await store.gc() : { removedBlobs: 0, freedBytes: 0 };
  if (flags.json) printJson({ removedBlobs, freedBytes });
  else printLine(`removed ${removedBlobs} blobs, freed ${freedBytes} bytes`);
}
