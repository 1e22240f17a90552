import { loadBundle } from "../../kit/bundle/load.js";
import { printJson, printLine } from "../output.js";
import { bundleProgressListener } from "../progress/bundle.js";
import { createProgress } from "../progress/index.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

interface LoadFlags extends RemoteFlags {
  to?: string;
  repository?: string;
  allowUnpinned?: boolean;
  json?: boolean;
  quiet?: boolean;
  referrers?: boolean;
}

export async function run(file: string, flags: LoadFlags): Promise<void> {
  const remote = flags.to !== undefined ? (await registrySettings(flags)).remote : undefined;
  const progress = await createProgress(flags);
  const result = await loadBundle(file, {
    ...(flags.to !== undefined ? { to: flags.to, remote } : {}),
    ...(flags.repository !== undefined ? { repository: flags.repository } : {}),
    allowUnpinned: flags.allowUnpinned ?? false,
    referrers: flags.referrers !== false,
    onProgress: bundleProgressListener(progress),
  }).finally(() => progress.finish());
  if (flags.json) {
    printJson(result);
    return;
  }
  const into = flags.to === undefined ? `the local store ${result.destination}` : result.destination;
  for (const e of result.entries) {
    const what = e.kind === "kit" ? `kit ${e.name} ${e.version}` : "image";
    printLine(flags.to === undefined ? `loaded ${what} ${e.reference}` : `loaded ${what} ${e.reference} as ${e.destination}`);
  }
  const { uploaded, mounted, skipped, bytes } = result.stats;
  printLine(`into ${into}: ${uploaded} written (${bytes} bytes), ${mounted} mounted, ${skipped} already there`);
}
