import { formatIssue } from "../../kit/load.js";
import { validateKit } from "../../kit/validate.js";
import { InvalidContentError } from "../../oras/errors.js";
import { ExitCode } from "../exit.js";
import { printError, printJson, printLine } from "../output.js";

export async function run(target: string, opts: { json?: boolean }): Promise<number> {
  const { file, valid, errors } = await validateKit(target);
  if (opts.json) {
    printJson({ valid, errors: errors.map(({ path, message, line, column }) => ({ path, message, line, column })) });
    return valid ? ExitCode.OK : ExitCode.INVALID;
  }
  if (valid) {
    printLine(`${file}: valid`);
    return ExitCode.OK;
  }
  for (const issue of errors) printError(formatIssue(file, issue));
  throw new InvalidContentError(`${file} is not a valid kit (${errors.length} problem${errors.length > 1 ? "s" : ""})`);
}
