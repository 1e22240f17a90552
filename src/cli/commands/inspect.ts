import { stat } from "node:fs/promises";
import { inspectKit } from "../../kit/inspect.js";
import { parseKitReference } from "../../kit/reference.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine } from "../output.js";
import { formatTable } from "../table.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";
import { servedByMirror } from "../mirror-output.js";

export async function run(ref: string, flags: RemoteFlags & { json?: boolean }): Promise<void> {
  // A file is a bundle (kit save's): inspecting it lists what it holds, as kit bundle ls does.
  if (await isFile(ref)) {
    const bundle = await import("./bundle-ls.js");
    return bundle.run(ref, flags);
  }
  const parsed = parseKitReference(ref);
  const { remote, mirrors } = await registrySettings(flags);
  const info = await sayingExpandedNames([[ref, parsed]], () => inspectKit(parsed, { remote, mirrors }));
  if (flags.json) {
    // null, not an absent field, for an unpinned kit: the shape spec/cli.md gives.
    printJson({ ...info, image: info.image ?? null });
    return;
  }
  const fields: [string, string][] = [
    ["Reference:", info.reference],
    ...(servedByMirror(info.reference, info.endpoint) ? [["Mirror:", info.endpoint] as [string, string]] : []),
    ["Kit:", `${info.kit.name} ${info.kit.version}${info.kit.description ? ` - ${info.kit.description}` : ""}`],
    ["Image:", info.image ?? `${info.kit.image} (unpinned)`],
    ["Manifest:", `${info.mediaType} ${info.digest} (${info.size} bytes)`],
    ["Artifact type:", info.artifactType],
    ["Config:", `${info.config.mediaType} ${info.config.digest} (${info.config.size} bytes)`],
  ];
  for (const line of formatTable(fields, { gap: " " })) printLine(line);
  printLine("Layers:");
  const layers = info.layers.map((l) => [l.annotations?.["org.opencontainers.image.title"] ?? "?", l.mediaType, l.digest, `(${l.size} bytes)`]);
  for (const line of formatTable(layers, { indent: "  " })) printLine(line);
  printLine("Annotations:");
  const annotations = Object.entries(info.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const line of formatTable(annotations.map(([key, value]) => [`${key}:`, value]), { indent: "  ", gap: " " })) printLine(line);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
