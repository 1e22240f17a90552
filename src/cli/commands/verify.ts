import { parseKitReference } from "../../kit/reference.js";
import { readVerifyingKey, type VerifyingKey } from "../../kit/signature/keys.js";
import { openKitSignatures } from "../../kit/signature/location.js";
import { scopeKeys } from "../../kit/signature/policy.js";
import { untrustedError, verifyKitSignatures } from "../../kit/signature/verify.js";
import { type TrustPolicy, trustScopeForRepository } from "../../kit/trust.js";
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

/** Without --key, the keys of the trust scope of the config file that decides for `identity`, as kit pull would check it. */
async function policyKeys(trust: TrustPolicy, identity: string): Promise<VerifyingKey[]> {
  const scope = trustScopeForRepository(trust, identity);
  if (scope === undefined || !scope.signed) {
    const why = scope === undefined ? `no trust scope of the config file applies to ${identity}` : `the trust scope "${scope.pattern.text}" accepts unsigned kits`;
    throw new UsageError(`kit verify needs at least one --key PUBLIC_KEY: ${why}`, { hint: "kit verify REF --key kit.pub" });
  }
  return scopeKeys(scope);
}

/** Exit 0 when a signature verifies; 7 (UNTRUSTED) otherwise, after the report (--json: the document alone). */
export async function run(ref: string, flags: VerifyFlags): Promise<void> {
  const files = flags.key ?? [];
  const parsed = parseKitReference(ref);
  // Given keys are read before any request: a bad key file fails fast.
  const given = await Promise.all(files.map((file) => readVerifyingKey(file)));
  const { remote, mirrors, trust } = await registrySettings(flags);
  const report = await sayingExpandedNames([[ref, parsed]], async () => {
    const where = await openKitSignatures(parsed, { remote, mirrors, ...(flags.identity !== undefined ? { identity: flags.identity } : {}) });
    return verifyKitSignatures(where, given.length > 0 ? given : await policyKeys(trust, where.identity));
  });
  if (flags.json) {
    printJson(report);
  } else {
    const rows = report.signatures.map((s) => [s.verdict, s.form, shortDigest(s.manifest), s.key === null ? "-" : shortDigest(s.key), s.reason]);
    if (rows.length > 0) for (const line of formatTable([["VERDICT", "FORM", "MANIFEST", "KEY", "REASON"], ...rows])) printLine(line);
    if (report.verified) printLine(`verified ${report.reference} for ${report.identity}`);
  }
  if (!report.verified) throw untrustedError(report);
}
