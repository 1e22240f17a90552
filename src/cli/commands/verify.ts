import { parseKitReference } from "../../kit/reference.js";
import { readVerifyingKey } from "../../kit/signature/keys.js";
import { untrustedError, verifyKit } from "../../kit/signature/verify.js";
import { UsageError } from "../../oras/errors.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine } from "../output.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";
import { formatTable, shortDigest } from "../table.js";

interface VerifyFlags extends RemoteFlags {
  key?: string[];
  identity?: string;
  json?: boolean;
}

/** Exit 0 when a signature verifies; 7 (UNTRUSTED) otherwise, after the report (--json: the document alone). */
export async function run(ref: string, flags: VerifyFlags): Promise<void> {
  const files = flags.key ?? [];
  if (files.length === 0) throw new UsageError("kit verify needs at least one --key PUBLIC_KEY", { hint: "kit verify REF --key kit.pub" });
  const parsed = parseKitReference(ref);
  const keys = await Promise.all(files.map((file) => readVerifyingKey(file)));
  const { remote, mirrors } = await registrySettings(flags);
  const report = await sayingExpandedNames([[ref, parsed]], () =>
    verifyKit(parsed, keys, { remote, mirrors, ...(flags.identity !== undefined ? { identity: flags.identity } : {}) }),
  );
  if (flags.json) {
    printJson(report);
  } else {
    const rows = report.signatures.map((s) => [s.verdict, s.form, shortDigest(s.manifest), s.key === null ? "-" : shortDigest(s.key), s.reason]);
    if (rows.length > 0) for (const line of formatTable([["VERDICT", "FORM", "MANIFEST", "KEY", "REASON"], ...rows])) printLine(line);
    if (report.verified) printLine(`verified ${report.reference} for ${report.identity}`);
  }
  if (!report.verified) throw untrustedError(report);
}
