import path from "node:path";
import { defaultStorePath, KitStore, type StoreEntry } from "../../kit/store.js";
import { printJson, printLine } from "../output.js";
import { formatTable, shortDigest } from "../table.js";

const UNPINNED = "(unpinned)";

export async function run(flags: { json?: boolean; trunc?: boolean }): Promise<void> {
  const store = await KitStore.openIfExists();
  const entries = store ? await store.list() : [];
  if (flags.json) {
    printJson({ kits: entries.map((e) => ({ name: e.name, version: e.version, reference: e.reference, digest: e.digest, image: e.image ?? null })) });
    return;
  }
  if (entries.length === 0) {
    printLine(`no kits in the local store ${store?.path ?? path.resolve(defaultStorePath())}`);
    return;
  }
  for (const line of table(entries, flags.trunc !== false)) printLine(line);
}

/**
 * Truncated (short digests: the table fits 100 columns), IMAGE is the pinned image's short digest; --no-trunc
 * prints the full digests and image reference.
 */
function table(entries: StoreEntry[], truncate: boolean): string[] {
  const short = (digest: string) => (truncate ? shortDigest(digest) : digest);
  const image = (e: StoreEntry) => (e.image === undefined ? UNPINNED : truncate ? short(e.image.slice(e.image.lastIndexOf("@") + 1)) : e.image);
  return formatTable([["NAME", "VERSION", "REFERENCE", "DIGEST", "IMAGE"], ...entries.map((e) => [e.name, e.version, e.reference, short(e.digest), image(e)])]);
}
