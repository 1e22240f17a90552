import { listBundle } from "../../kit/bundle/list.js";
import { bundleEntryJson, bundleEntryTable } from "../bundle-output.js";
import { printJson, printLine } from "../output.js";

export async function run(file: string, flags: { json?: boolean }): Promise<void> {
  const listing = await listBundle(file);
  if (flags.json) {
    printJson({ bundle: listing.bundle, compression: listing.compression, size: listing.size, entries: listing.entries.map(bundleEntryJson) });
    return;
  }
  if (listing.entries.length === 0) {
    printLine(`bundle ${file} is empty`);
    return;
  }
  for (const line of bundleEntryTable(listing.entries)) printLine(line);
}
