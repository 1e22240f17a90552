import { defaultStorePath } from "../../kit/store.js";
import { discoverKits, type DiscoveredReferrer } from "../../kit/discover.js";
import { parseTargetReference } from "../../oras/reference.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine } from "../output.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";
import { formatTable } from "../table.js";

interface DiscoverFlags extends RemoteFlags {
  all?: boolean;
  local?: boolean;
  json?: boolean;
}

export async function run(imageText: string, flags: DiscoverFlags): Promise<void> {
  const ref = parseTargetReference(imageText);
  const { remote } = await registrySettings(flags);
  const result = await sayingExpandedNames([[imageText, ref]], () =>
    discoverKits(ref, { remote, all: flags.all ?? false, ...(flags.local ? { store: defaultStorePath() } : {}) }),
  );
  if (flags.json) {
    printJson(result);
    return;
  }
  if (result.referrers !== undefined) {
    printLine(result.subject);
    for (const line of tree(result.referrers, process.stdout.isTTY === true)) printLine(line);
    return;
  }
  if (result.kits.length === 0) {
    printLine(`no kits refer to ${result.subject}`);
    return;
  }
  const rows = result.kits.map((k) => [k.name ?? "(no name)", k.version ?? "(no version)", k.reference]);
  for (const line of formatTable([["NAME", "VERSION", "REFERENCE"], ...rows])) printLine(line);
}

/** A tree with box-drawing branches on a terminal; indentation alone through a pipe (one referrer a line either way). */
function tree(referrers: readonly DiscoveredReferrer[], boxes: boolean, prefix = ""): string[] {
  const lines: string[] = [];
  referrers.forEach((r, i) => {
    const last = i === referrers.length - 1;
    const branch = boxes ? (last ? "└── " : "├── ") : "  ";
    const label = [r.artifactType ?? r.mediaType, r.digest, describe(r)].filter((x) => x !== "").join("  ");
    lines.push(prefix + branch + label);
    lines.push(...tree(r.referrers, boxes, prefix + (boxes ? (last ? "    " : "│   ") : "  ")));
  });
  return lines;
}

/** A kit's name and version, as its annotations claim. */
function describe(r: DiscoveredReferrer): string {
  const title = r.annotations["org.opencontainers.image.title"];
  const version = r.annotations["org.opencontainers.image.version"];
  return [title, version].filter((x) => x !== undefined).join(" ");
}
