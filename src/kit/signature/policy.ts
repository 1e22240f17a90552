/**
 * Enforcing the config file's trust policy (spec/config.md, `trust:`) on a
 * kit about to be pulled or served: the scope that decides (trust.ts) names
 * the keys; a kit it requires to be signed passes only when one of its
 * signatures verifies for that digest and repository (verify.ts). Loaded by
 * pull only when a scope applies.
 */
import { InvalidContentError, NotFoundError, OciError, UntrustedError } from "../../oras/content.js";
import type { TrustOutcome, TrustScope } from "../trust.js";
import { readVerifyingKey, type VerifyingKey } from "./keys.js";
import type { KitSignatures } from "./location.js";
import { untrustedError, verifyKitSignatures } from "./verify.js";

// Key files are read once per process, whichever kits a command pulls.
const keyCache = new Map<string, Promise<VerifyingKey>>();

function readKey(file: string): Promise<VerifyingKey> {
  let key = keyCache.get(file);
  if (key === undefined) {
    key = readVerifyingKey(file);
    keyCache.set(file, key);
    key.catch(() => keyCache.delete(file));
  }
  return key;
}

/** Why a trust key file cannot be used (`kit config check` reports it at its entry); undefined when it can. */
export async function keyFileProblem(file: string): Promise<string | undefined> {
  try {
    await readKey(file);
    return undefined;
  } catch (err) {
    if (err instanceof OciError) return err.message;
    throw err;
  }
}

/** The keys a scope trusts; an unusable key file stops the command, naming the config file. */
export async function scopeKeys(scope: TrustScope): Promise<VerifyingKey[]> {
  const keys: VerifyingKey[] = [];
  for (const file of scope.keys) {
    try {
      keys.push(await readKey(file));
    } catch (err) {
      if (!(err instanceof OciError)) throw err;
      const where = scope.file !== undefined ? ` (a key of the trust scope "${scope.pattern.text}" in ${scope.file})` : "";
      // A missing key stays NOT_FOUND (exit 5); any other unusable key is a broken config file (exit 3).
      const details = { hint: scope.file !== undefined ? `run "kit config check ${scope.file}"` : err.hint, cause: err };
      throw err instanceof NotFoundError ? new NotFoundError(`${err.message}${where}`, details) : new InvalidContentError(`${err.message}${where}`, details);
    }
  }
  return keys;
}

/** The verdict of the scope on the kit `where` names: the outcome when trusted; UntrustedError (exit 7) when not. */
export async function enforceTrust(where: KitSignatures, scope: TrustScope, opts: { signal?: AbortSignal } = {}): Promise<TrustOutcome> {
  const base = { scope: scope.pattern.text, ...(scope.file !== undefined ? { file: scope.file } : {}), signed: scope.signed };
  if (!scope.signed) return { ...base, verified: [] };
  const report = await verifyKitSignatures(where, await scopeKeys(scope), opts);
  if (!report.verified) {
    const refused = untrustedError(report);
    const policy = scope.file !== undefined ? `the trust policy in ${scope.file}` : "the trust policy";
    throw new UntrustedError(`${refused.message}; ${policy} requires kits of "${scope.pattern.text}" to be signed by one of its ${scope.keys.length} key${scope.keys.length === 1 ? "" : "s"}`, {
      hint: `check with "kit verify ${where.reference.split(" ")[0]} --key KEY --json"; nothing was stored`,
    });
  }
  const verified = report.signatures.filter((s) => s.verdict === "verified").map((s) => ({ form: s.form, key: s.key!, manifest: s.manifest }));
  return { ...base, verified };
}
