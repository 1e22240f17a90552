import { checkConfig, loadKitSettings } from "../../kit/config.js";
import { configFileLocation } from "../../kit/config-path.js";
import { formatIssue } from "../../kit/load.js";
import { InvalidContentError } from "../../oras/errors.js";
import { ExitCode } from "../exit.js";
import { printError, printJson, printLine } from "../output.js";

export async function run(file: string | undefined, opts: { json?: boolean }): Promise<number> {
  const report = await checkConfig(file);
  if (report === undefined) {
    // Only the default file may be missing (a named one is NOT_FOUND): no file is no mirrors, a valid setup.
    const missing = configFileLocation().file;
    if (opts.json) printJson({ file: missing, found: false, valid: true, errors: [] });
    else printLine(`no config file at ${missing}: no mirrors, registries reached as named`);
    return ExitCode.OK;
  }
  const { file: checked, valid, errors } = report;
  if (opts.json) {
    printJson({ file: checked, found: true, valid, errors });
    return valid ? ExitCode.OK : ExitCode.INVALID;
  }
  if (!valid) {
    for (const issue of errors) printError(formatIssue(issue.file, issue));
    throw new InvalidContentError(`${checked} is not a valid config file (${errors.length} problem${errors.length > 1 ? "s" : ""})`);
  }
  const settings = await loadKitSettings(checked);
  const mirrors = [...settings.mirrors.values()].reduce((n, policy) => n + policy.mirrors.length, 0);
  const registries = settings.registries.size;
  const scopes = settings.trust.scopes.length;
  const trust = scopes > 0 ? `, ${scopes} trust scope${scopes === 1 ? "" : "s"}` : "";
  printLine(`${checked}: valid (${registries} ${registries === 1 ? "registry" : "registries"}, ${mirrors} mirror${mirrors === 1 ? "" : "s"}${trust})`);
  return ExitCode.OK;
}
