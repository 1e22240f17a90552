/**
 * `kit init` on a directory that already has a kit.yaml but no README.md:
 * push needs a README, so init writes only that, from the kit's own
 * description, secrets and ports, and leaves kit.yaml untouched.
 */
import path from "node:path";
import { fsCalls, writeFilesAtomic } from "../oras/content.js";
import { README_TITLE } from "./format.js";
import { checkKitManifest, KIT_FILE, readKitFileBytes } from "./load.js";
import type { KitManifest } from "./schema.js";

const { lstat } = fsCalls;

export interface ReadmeAdded {
  /** The README.md written. */
  files: string[];
  name: string;
  /** The existing kit.yaml, left as it was. */
  kept: string[];
}

/** Writes DIR/README.md when DIR has a kit.yaml and no README.md; undefined (nothing done) otherwise. */
export async function addMissingReadme(dir: string, fallbackName: string): Promise<ReadmeAdded | undefined> {
  const kitYaml = path.join(dir, KIT_FILE);
  const readme = path.join(dir, README_TITLE);
  if (!(await exists(kitYaml)) || (await exists(readme))) return undefined;
  // An invalid kit.yaml still gets a README; it just cannot list what the kit declares.
  const kit = checkKitManifest(await readKitFileBytes(kitYaml)).value;
  const name = kit?.name ?? fallbackName;
  await writeFilesAtomic([[readme, readmeFor(name, kit)]], { hint: '"kit init" never overwrites files' });
  return { files: [readme], name, kept: [kitYaml] };
}

function readmeFor(name: string, kit: KitManifest | undefined): string {
  const lines = [`# ${name}`, "", kit?.description ?? "What this kit is for, which secrets it needs and where to get them, and what its agents do.", ""];
  const secrets = [
    ...(kit?.secrets?.required ?? []).map((s) => ({ ...s, kind: "required" })),
    ...(kit?.secrets?.optional ?? []).map((s) => ({ ...s, kind: "optional" })),
  ];
  if (secrets.length > 0) {
    lines.push("## Secrets", "", ...secrets.map((s) => `- \`${s.name}\` (${s.kind})${s.description ? `: ${s.description}` : ""}`), "");
  }
  const ports = kit?.exposes ?? [];
  if (ports.length > 0) lines.push("## Ports", "", ...ports.map((p) => `- ${p.port}/${p.protocol}`), "");
  return lines.join("\n");
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}
