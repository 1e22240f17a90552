import { checkKitManifest, formatIssue, readKitFileBytes, resolveKitFile, type KitIssue } from "../../kit/load.js";
import { InvalidContentError, SizeLimitError } from "../../oras/errors.js";
import { ExitCode } from "../exit.js";
import { printError, printJson, printLine } from "../output.js";

export async function run(target: string, opts: { json?: boolean }): Promise<number> {
  const file = await resolveKitFile(target);
  let issues: KitIssue[];
  try {
    issues = checkKitManifest(await readKitFileBytes(file)).issues;
  } catch (err) {
    // An oversized file is an invalid kit, reported like any other problem.
    if (!(err instanceof SizeLimitError)) throw err;
    issues = [{ path: "", message: err.message, line: 0, column: 0 }];
  }
  if (opts.json) {
    printJson({ valid: issues.length === 0, errors: issues.map(({ path, message, line, column }) => ({ path, message, line, column })) });
    return issues.length === 0 ? ExitCode.OK : ExitCode.INVALID;
  }
  if (issues.length === 0) {
    printLine(`${file}: valid`);
    return ExitCode.OK;
  }
  for (const issue of issues) printError(formatIssue(file, issue));
  throw new InvalidContentError(`${file} is not a valid kit (${issues.length} problem${issues.length > 1 ? "s" : ""})`);
}
