import { pushKit } from "../../kit/push.js";
import { UsageError } from "../../oras/errors.js";
import { parseTargetReference } from "../../oras/reference.js";
import { sayingExpandedNames } from "../implied-registry.js";
import { printJson, printLine, printWarning } from "../output.js";
import { copyProgress, createProgress } from "../progress/index.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

interface PushFlags extends RemoteFlags {
  tag?: string[];
  pin?: boolean;
  attach?: boolean;
  created?: string;
  json?: boolean;
  quiet?: boolean;
  sign?: string;
  signFormat?: string;
  passphraseStdin?: boolean;
}

export async function run(ref: string, dir: string, flags: PushFlags): Promise<void> {
  const target = parseTargetReference(ref);
  // The key is read (its passphrase asked) before anything is pushed; the signing code loads only with --sign.
  if (flags.signFormat !== undefined && flags.sign === undefined) throw new UsageError("--sign-format needs --sign KEY");
  const signing = flags.sign !== undefined ? await signingFor(flags.sign, target.kind, flags) : undefined;
  const progress = await createProgress(flags);
  const { remote } = await registrySettings(flags);
  const result = await sayingExpandedNames([[ref, target]], () =>
    pushKit(target, dir, {
      pin: flags.pin !== false,
      tags: flags.tag ?? [],
      remote,
      attach: flags.attach ?? false,
      ...(flags.created !== undefined ? { created: flags.created } : {}),
      ...copyProgress(progress),
    }),
  ).finally(() => progress.finish());
  for (const warning of result.warnings) printWarning(warning);
  const signed = signing ? await signing.sign(result.reference) : undefined;
  for (const warning of signed?.warnings ?? []) printWarning(warning);
  if (flags.json) printJson({ ...result, ...(signed ? { signed } : {}) });
  else {
    printLine(result.reference);
    if (result.attached !== undefined) printLine(`attached to its image as ${result.attached}`);
    if (signed) signing?.print(signed);
  }
}

async function signingFor(keyFile: string, kind: "registry" | "layout", flags: PushFlags) {
  if (kind !== "registry") {
    throw new UsageError("--sign signs the kit in its registry repository, so it needs a registry reference, not an OCI layout", {
      hint: 'sign a layout with "kit sign oci:PATH@DIGEST --key KEY --identity REGISTRY/REPO"',
    });
  }
  const { printSigned, signatureFormats, signingKey } = await import("./sign.js");
  const { signKit } = await import("../../kit/signature/sign.js");
  const formats = signatureFormats(flags.signFormat);
  const key = await signingKey(keyFile, flags);
  const { remote } = await registrySettings(flags);
  return { sign: (reference: string) => signKit(reference, key, { formats, remote }), print: printSigned };
}
