import { KitStore, type StoreEntry } from "../../kit/store.js";
import { printJson, printLine } from "../output.js";

const UNPINNED = "(unpinned)";

export async function run(flags: { json?: boolean }): Promise<void> {
  const store = await KitStore.openIfExists();
  const entries = store ? await store.list() : [];
  if (flags.json) {
    printJson({ kits: entries.map((e) => ({ name: e.name, version: e.version, reference: e.reference, digest: e.digest, image: e.image ?? null })) });
    return;
  }
  if (entries.length === 0) return;
  for (const line of table(entries)) printLine(line);
}

function table(entries: StoreEntry[]): string[] {
  const rows = [["NAME", "VERSION", "REFERENCE", "DIGEST", "IMAGE"], ...entries.map((e) => [e.name, e.version, e.reference, e.digest, e.image ?? UNPINNED])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "));
}
