import { inspectKit } from "../../kit/inspect.js";
import { parseKitReference } from "../../kit/reference.js";
import { printJson, printLine } from "../output.js";
import { remoteOptions, type RemoteFlags } from "../remote-options.js";

export async function run(ref: string, flags: RemoteFlags & { json?: boolean }): Promise<void> {
  const info = await inspectKit(parseKitReference(ref), { remote: remoteOptions(flags) });
  if (flags.json) {
    printJson(info);
    return;
  }
  printLine(`Reference:     ${info.reference}`);
  printLine(`Kit:           ${info.kit.name} ${info.kit.version}${info.kit.description ? ` - ${info.kit.description}` : ""}`);
  printLine(`Image:         ${info.image ?? `${info.kit.image} (unpinned)`}`);
  printLine(`Manifest:      ${info.mediaType} ${info.digest} (${info.size} bytes)`);
  printLine(`Artifact type: ${info.artifactType}`);
  printLine(`Config:        ${info.config.mediaType} ${info.config.digest} (${info.config.size} bytes)`);
  printLine("Layers:");
  for (const layer of info.layers) {
    printLine(`  ${layer.annotations?.["org.opencontainers.image.title"] ?? "?"}  ${layer.mediaType} ${layer.digest} (${layer.size} bytes)`);
  }
  printLine("Annotations:");
  for (const [key, value] of Object.entries(info.annotations).sort()) printLine(`  ${key}: ${value}`);
}
