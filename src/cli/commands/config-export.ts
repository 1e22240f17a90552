import { mkdir } from "node:fs/promises";
import path from "node:path";
import { loadKitSettings, type KitSettings } from "../../kit/config.js";
import { configFileLocation } from "../../kit/config-path.js";
import { containerdHostsFiles, registriesConfFragment, type ExportFormat } from "../../kit/config-export.js";
import { IoError, NotFoundError, UsageError } from "../../oras/errors.js";
import { writeFilesAtomic } from "../../oras/fs.js";
import { printLine, writeStdout } from "../output.js";

interface ExportFlags {
  format: ExportFormat;
  output?: string;
  force?: boolean;
}

export async function run(file: string | undefined, flags: ExportFlags): Promise<void> {
  const settings = await loadKitSettings(file);
  if (settings.file === undefined) {
    throw new NotFoundError(`no config file at ${configFileLocation().file}: no mirrors to export`, {
      hint: "write one (spec/config.md), or name it: kit config export FILE --format …",
    });
  }
  if (flags.format === "containerd") return exportContainerd(settings, flags);
  const fragment = registriesConfFragment(settings);
  if (flags.output === undefined) {
    writeStdout(fragment);
    return;
  }
  await writeAll([[flags.output, fragment]], flags.force ?? false);
  printLine(`wrote ${flags.output}`);
}

async function exportContainerd(settings: KitSettings, flags: ExportFlags): Promise<void> {
  if (flags.output === undefined) {
    throw new UsageError("--format containerd writes one hosts.toml per registry: name the directory with -o DIR", {
      hint: "containerd reads them from its registry config_path, usually /etc/containerd/certs.d",
    });
  }
  const files = containerdHostsFiles(settings).map(({ path: relative, content }) => [path.join(flags.output!, relative), content] as const);
  if (files.length === 0) {
    printLine(`${settings.file} names no registries: nothing to write`);
    return;
  }
  await writeAll(files, flags.force ?? false);
  for (const [written] of files) printLine(`wrote ${written}`);
}

/** Every file or none, never over an existing one without --force. */
async function writeAll(files: readonly (readonly [string, string])[], force: boolean): Promise<void> {
  for (const dir of new Set(files.map(([f]) => path.dirname(f)))) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new IoError(`cannot create ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }
  await writeFilesAtomic(files, { overwrite: force, hint: "pass --force to replace it" });
}
