import { pullKit } from "../../kit/pull.js";
import { parseKitReference } from "../../kit/reference.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { servedByMirror } from "../mirror-output.js";
import { printJson, printLine } from "../output.js";
import { copyProgress, createProgress } from "../progress/index.js";
import type { RegistrySettings, RemoteFlags } from "../remote-options.js";

interface PullFlags extends RemoteFlags {
  output?: string;
  force?: boolean;
  allowUnpinned?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export async function run(ref: string, flags: PullFlags): Promise<void> {
  const parsed = parseKitReference(ref);
  const progress = await createProgress(flags);
  // A kit the local store serves needs no registry settings, and must not load the registry client to find that out.
  const { remote, mirrors }: Partial<RegistrySettings> = parsed.kind === "store" ? {} : await (await import("../remote-options.js")).registrySettings(flags);
  const result = await sayingExpandedNames([[ref, parsed]], () =>
    pullKit(parsed, {
      ...(remote !== undefined ? { remote } : {}),
      ...(mirrors !== undefined ? { mirrors } : {}),
      allowUnpinned: flags.allowUnpinned ?? false,
      force: flags.force ?? false,
      ...(flags.output !== undefined ? { output: flags.output } : {}),
      ...copyProgress(progress),
    }),
  ).finally(() => progress.finish());
  if (flags.json) {
    printJson({ reference: result.reference, digest: result.digest, kit: result.kit, image: result.image, endpoint: result.endpoint });
    return;
  }
  printLine(result.reference);
  if (servedByMirror(result.reference, result.endpoint)) printLine(`pulled through the mirror ${result.endpoint}`);
  const [kitYaml, ...others] = result.files;
  if (kitYaml !== undefined) {
    // Say which image the written kit.yaml names, and why it is not pinned when it is not.
    printLine(`wrote ${kitYaml} (${result.kit.unpinned ? `image ${result.image} as written: the kit is unpinned` : `image pinned to ${result.image}`})`);
  }
  for (const file of others) printLine(`wrote ${file}`);
}
