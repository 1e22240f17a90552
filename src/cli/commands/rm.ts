import { KitStore } from "../../kit/store.js";
import { printLine } from "../output.js";

export async function run(reference: string): Promise<void> {
  const store = await KitStore.openToFind(reference);
  for (const entry of await store.remove(reference)) printLine(entry.reference);
}
