import { formatIssue } from "../../kit/load.js";
import { validateKit } from "../../kit/validate.js";
import { InvalidContentError } from "../../oras/errors.js";
import { ExitCode } from "../exit.js";
import { printError, printJson, printLine } from "../output.js";

export async function run(target: string, opts: { json?: boolean }): Promise<number> {
  const report = await validateKit(target);
  const { file, valid, errors } = report;
  if (opts.json) {
    // Exactly what the library returns: a Go caller and a TypeScript caller read the same document.
    printJson(report);
    return valid ? ExitCode.OK : ExitCode.INVALID;
  }
  if (valid) {
    printLine(`${file}: valid`);
    return ExitCode.OK;
  }
  for (const issue of errors) printError(formatIssue(issue.file, issue));
  throw new InvalidContentError(`${file} is not a valid kit (${errors.length} problem${errors.length > 1 ? "s" : ""})`);
}
