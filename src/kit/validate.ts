import { SizeLimitError } from "../oras/content.js";
import { checkKitManifest, readKitFileBytes, resolveKitFile, type KitIssue } from "./load.js";

export interface ValidationReport {
  /** The kit.yaml that was checked. */
  file: string;
  valid: boolean;
  errors: KitIssue[];
}

/**
 * Validate a kit directory or YAML file and report every problem (what
 * `kit validate --json` prints). Throws only when there is nothing to read.
 */
export async function validateKit(target: string): Promise<ValidationReport> {
  const file = await resolveKitFile(target);
  let errors: KitIssue[];
  try {
    errors = checkKitManifest(await readKitFileBytes(file)).issues;
  } catch (err) {
    // An oversized file is an invalid kit, reported like any other problem.
    if (!(err instanceof SizeLimitError)) throw err;
    errors = [{ path: "", message: err.message, line: 0, column: 0 }];
  }
  return { file, valid: errors.length === 0, errors };
}
