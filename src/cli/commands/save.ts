import { checkCompression } from "../../kit/bundle/compression.js";
import { saveBundle } from "../../kit/bundle/save.js";
import { parseKitReference } from "../../kit/reference.js";
import { bundleEntryJson, bundleEntryTable } from "../bundle-output.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine, printWarning } from "../output.js";
import { bundleProgressListener } from "../progress/bundle.js";
import { createProgress } from "../progress/index.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

interface SaveFlags extends RemoteFlags {
  output: string;
  compress?: string;
  force?: boolean;
  allowUnpinned?: boolean;
  json?: boolean;
  quiet?: boolean;
  referrers?: boolean;
}

export async function run(refs: string[], flags: SaveFlags): Promise<void> {
  const compression = checkCompression(flags.compress ?? "none");
  const parsed = refs.map((ref) => [ref, parseKitReference(ref)] as const);
  const { remote } = await registrySettings(flags);
  const progress = await createProgress(flags);
  const result = await sayingExpandedNames(parsed, () =>
    saveBundle(
      parsed.map(([, ref]) => ref),
      flags.output,
      {
        remote,
        compression,
        force: flags.force ?? false,
        allowUnpinned: flags.allowUnpinned ?? false,
        referrers: flags.referrers !== false,
        onProgress: bundleProgressListener(progress),
      },
    ),
  ).finally(() => progress.finish());
  for (const resolved of result.resolvedUnpinned) printWarning(`the kit is unpinned: its image ${resolved} was resolved by its tag now`);
  if (flags.json) {
    printJson({ bundle: result.path, compression: result.compression, entries: result.roots.map(bundleEntryJson), blobs: result.blobs, bytes: result.bytes });
    return;
  }
  for (const line of bundleEntryTable(result.roots)) printLine(line);
  const compressed = result.compression === "none" ? "" : `, ${result.compression}`;
  printLine(`wrote ${result.path} (${result.blobs} blobs, ${result.bytes} bytes${compressed})`);
}
