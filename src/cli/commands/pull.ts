import { pullKit } from "../../kit/pull.js";
import type { TrustOutcome } from "../../kit/trust.js";
import { parseKitReference } from "../../kit/reference.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { servedByMirror } from "../mirror-output.js";
import { printJson, printLine } from "../output.js";
import { copyProgress, createProgress } from "../progress/index.js";
import type { RegistrySettings, RemoteFlags } from "../remote-options.js";
import { trustPolicy } from "../config-settings.js";

interface PullFlags extends RemoteFlags {
  output?: string;
  force?: boolean;
  allowUnpinned?: boolean;
  referrers?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function trustLine(trust: TrustOutcome): string {
  const scope = `trust scope "${trust.scope}"${trust.file !== undefined ? ` in ${trust.file}` : ""}`;
  if (!trust.signed) return `not checked for signatures: the ${scope} accepts unsigned kits`;
  const keys = [...new Set(trust.verified.map((v) => v.key))];
  const forms = [...new Set(trust.verified.map((v) => v.form))];
  return `signature verified with key ${keys.join(", ")} (${forms.join(" and ")}; ${scope})`;
}

export async function run(ref: string, flags: PullFlags): Promise<void> {
  const parsed = parseKitReference(ref);
  const progress = await createProgress(flags);
  // A kit the local store serves needs no registry settings, and must not load the registry client to find that out;
  // the trust policy applies to it all the same.
  const { remote, mirrors, trust }: Partial<RegistrySettings> =
    parsed.kind === "store" ? { trust: await trustPolicy() } : await (await import("../remote-options.js")).registrySettings(flags);
  const result = await sayingExpandedNames([[ref, parsed]], () =>
    pullKit(parsed, {
      ...(remote !== undefined ? { remote } : {}),
      ...(mirrors !== undefined ? { mirrors } : {}),
      ...(trust !== undefined ? { trust } : {}),
      referrers: flags.referrers ?? false,
      allowUnpinned: flags.allowUnpinned ?? false,
      force: flags.force ?? false,
      ...(flags.output !== undefined ? { output: flags.output } : {}),
      ...copyProgress(progress),
    }),
  ).finally(() => progress.finish());
  if (flags.json) {
    printJson({ reference: result.reference, digest: result.digest, kit: result.kit, image: result.image, endpoint: result.endpoint, ...(result.trust !== undefined ? { trust: result.trust } : {}), ...(result.attachments !== undefined ? { attachments: result.attachments } : {}) });
    return;
  }
  printLine(result.reference);
  if (servedByMirror(result.reference, result.endpoint)) printLine(`pulled through the mirror ${result.endpoint}`);
  if (result.trust !== undefined) printLine(trustLine(result.trust));
  if (result.attachments !== undefined) printLine(`stored ${result.attachments.length} attached manifest${result.attachments.length === 1 ? "" : "s"} with it`);
  const [kitYaml, ...others] = result.files;
  if (kitYaml !== undefined) {
    // Say which image the written kit.yaml names, and why it is not pinned when it is not.
    printLine(`wrote ${kitYaml} (${result.kit.unpinned ? `image ${result.image} as written: the kit is unpinned` : `image pinned to ${result.image}`})`);
  }
  for (const file of others) printLine(`wrote ${file}`);
}
