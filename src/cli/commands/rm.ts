import { KitStore } from "../../kit/store.js";
import { printJson, printLine } from "../output.js";

export async function run(reference: string, flags: { json?: boolean } = {}): Promise<void> {
  const store = await KitStore.openToFind(reference);
  const { kits, dependents } = await store.removeKits(reference);
  if (flags.json) {
    printJson({
      removed: kits.map(({ reference, digest, name, version }) => ({ reference, digest, name, version })),
      alsoRemoved: dependents.map(({ kind, reference, digest, subject }) => ({ kind, reference, digest, ...(subject !== undefined ? { subject } : {}) })),
    });
    return;
  }
  for (const entry of kits) printLine(entry.reference);
  for (const d of dependents) {
    const name = d.reference ?? `${d.digest} (untagged)`;
    printLine(d.kind === "image" ? `also removed image ${name}` : `also removed attachment ${name} of ${d.subject}`);
  }
}
