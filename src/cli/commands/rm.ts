import { defaultStorePath, KitStore } from "../../kit/store.js";
import { NotFoundError } from "../../oras/errors.js";
import { printLine } from "../output.js";

export async function run(reference: string): Promise<void> {
  const store = await KitStore.openIfExists();
  if (!store) {
    throw new NotFoundError(`no kit matching "${reference}": there is no local store at ${defaultStorePath()}`, { hint: 'run "kit ls" to see what it holds' });
  }
  for (const entry of await store.remove(reference)) printLine(entry.reference);
}
