import { stat } from "node:fs/promises";
import path from "node:path";
import { diffKits, type DiffableKit, type KitChange } from "../../kit/diff.js";
import { loadKit } from "../../kit/load.js";
import { readKitReference } from "../../kit/read-reference.js";
import type { RemoteOptions } from "../../oras/remote/registry-client.js";
import { ExitCode } from "../exit.js";
import { printJson, printLine } from "../output.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

interface DiffFlags extends RemoteFlags {
  json?: boolean;
  exitCode?: boolean;
}

/** One side of the diff, as `--json` prints it. */
interface DiffSide {
  argument: string;
  source: "directory" | "registry" | "layout" | "store";
  /** `REGISTRY/REPO@sha256:…` or `oci:PATH@sha256:…` of a published kit; null for a directory. */
  reference: string | null;
  /** The kit.yaml read for a directory; null for a published kit. */
  file: string | null;
  name: string;
  version: string;
  image: string;
}

export async function run(a: string, b: string, flags: DiffFlags): Promise<number> {
  const remote = (await registrySettings(flags)).remote;
  const [left, right] = await Promise.all([loadSide(a, remote), loadSide(b, remote)]);
  const diff = diffKits(left.kit, right.kit);
  if (flags.json) {
    printJson({ a: left.side, b: right.side, ...diff });
  } else if (diff.identical) {
    printLine("no differences");
  } else {
    for (const c of diff.changes) printLine(formatChange(c));
    const breaking = diff.changes.filter((c) => c.breaking).length;
    const review = diff.changes.filter((c) => c.review).length;
    printLine(`${diff.changes.length} change${diff.changes.length === 1 ? "" : "s"}: ${breaking} breaking, ${review} for review`);
  }
  return flags.exitCode && !diff.identical ? ExitCode.FAILURE : ExitCode.OK;
}

async function loadSide(argument: string, remote: RemoteOptions): Promise<{ side: DiffSide; kit: DiffableKit }> {
  if (await isLocalKit(argument)) {
    const loaded = await loadKit(argument);
    const { name, version, image } = loaded.manifest;
    return { side: { argument, source: "directory", reference: null, file: loaded.file, name, version, image }, kit: loaded.manifest };
  }
  const read = await readKitReference(argument, { remote });
  const { name, version, image } = read.content.kit;
  return { side: { argument, source: read.source, reference: read.reference, file: null, name, version, image }, kit: read.content.kit };
}

/**
 * A directory or kit.yaml path rather than a reference: written as a path
 * (`.`, `./x`, `/x`, `x.yaml`), or present on disk. A directory wins over a
 * store name: `kit diff REF my-kit` right after `kit init my-kit` means the
 * directory; the stored kit is `my-kit:TAG` or `my-kit@sha256:…`.
 */
async function isLocalKit(argument: string): Promise<boolean> {
  if (argument.startsWith("oci:") || argument.includes("://")) return false;
  if (/^\.\.?(?:[/\\]|$)/.test(argument) || path.isAbsolute(argument) || /\.ya?ml$/i.test(argument)) return true;
  return existsOnDisk(argument);
}

async function existsOnDisk(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

const MARKS = { breaking: "breaking", review: "review", none: "" };
const SIGNS = { added: "+", removed: "-", changed: "~", moved: "~" };

/** `MARK  SIGN PATH …  (reason)`: one line per change. */
export function formatChange(c: KitChange): string {
  const mark = (c.breaking ? MARKS.breaking : c.review ? MARKS.review : MARKS.none).padEnd(8);
  let what: string;
  if (c.change === "moved") what = `${c.item}: ${c.from} -> ${c.to}`;
  else if (c.item !== undefined) what = `${c.path} ${c.item}`;
  else if (c.change === "added") what = `${c.path}: ${value(c.to)}`;
  else if (c.change === "removed") what = `${c.path} (was ${value(c.from)})`;
  else what = `${c.path}: ${value(c.from)} -> ${value(c.to)}${c.path === "image" ? imageNote(c.digestChanged) : ""}`;
  return `${mark}  ${SIGNS[c.change]} ${what}${c.reason !== undefined ? `  (${c.reason})` : ""}`;
}

function value(v: KitChange["from"]): string {
  return typeof v === "string" && !/^[\w.:/@*+-]+$/.test(v) ? JSON.stringify(v) : String(v);
}

function imageNote(digestChanged: boolean | null | undefined): string {
  if (digestChanged === true) return " [pinned digest changed]";
  if (digestChanged === false) return " [same pinned digest]";
  return " [digests not compared: not both pinned]";
}
