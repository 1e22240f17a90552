import path from "node:path";
import { OciError, SizeLimitError } from "../oras/content.js";
import { README_TITLE } from "./format.js";
import { checkKitManifest, readKitFileBytes, resolveKitFile, type KitIssue } from "./load.js";
import { readReadme } from "./readme.js";

/** A problem and the file it is in (kit.yaml, or the README.md next to it). */
export interface ValidationIssue extends KitIssue {
  file: string;
}

/** What `validateKit()` returns and `kit validate --json` prints, the same document. */
export interface ValidationReport {
  /** The kit.yaml that was checked. */
  file: string;
  valid: boolean;
  errors: ValidationIssue[];
}

/**
 * Validate a kit directory or YAML file and report every problem (what
 * `kit validate --json` prints). A directory is checked for everything
 * `kit push` needs before it contacts a registry: kit.yaml and a README.md
 * within their size limits; a YAML file alone is checked against the schema.
 * Throws only when there is nothing to read.
 */
export async function validateKit(target: string): Promise<ValidationReport> {
  const file = await resolveKitFile(target);
  const errors: ValidationIssue[] = (await kitYamlIssues(file)).map((issue) => ({ file, ...issue }));
  // resolveKitFile() returns a file target as given, and DIR/kit.yaml for a directory.
  if (file !== target) errors.push(...(await readmeIssues(path.join(path.dirname(file), README_TITLE))));
  return { file, valid: errors.length === 0, errors };
}

async function kitYamlIssues(file: string): Promise<KitIssue[]> {
  try {
    return checkKitManifest(await readKitFileBytes(file)).issues;
  } catch (err) {
    // An oversized file is an invalid kit, reported like any other problem.
    if (!(err instanceof SizeLimitError)) throw err;
    return [{ path: "", message: err.message, line: 0, column: 0 }];
  }
}

/** Read as push reads it: whatever would stop push (missing, too big, not a file) is a problem of the kit. */
async function readmeIssues(file: string): Promise<ValidationIssue[]> {
  try {
    await readReadme(file);
    return [];
  } catch (err) {
    if (!(err instanceof OciError)) throw err;
    const message = err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message;
    return [{ file, path: "", message: err.hint ? `${message}; ${err.hint}` : message, line: 0, column: 0 }];
  }
}
