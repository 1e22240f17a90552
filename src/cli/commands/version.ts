import { buildCommit } from "../build-info.js";
import { printJson, printLine } from "../output.js";
import { packageVersion } from "../version.js";

export async function run(flags: { json?: boolean }): Promise<void> {
  const info = { version: packageVersion(), commit: buildCommit(), node: process.version, platform: process.platform, arch: process.arch };
  if (flags.json) {
    printJson(info);
    return;
  }
  printLine(`kit ${info.version}`);
  printLine(`commit:   ${info.commit}`);
  printLine(`node:     ${info.node}`);
  printLine(`platform: ${info.platform}/${info.arch}`);
}
