import { UsageError } from "../../oras/errors.js";
import { parseRegistryHost } from "../../oras/reference.js";
import { RemoteRegistry } from "../../oras/remote/registry.js";
import { staticCredentials, storeDockerCredential } from "../../oras/remote/index.js";
import { printLine, printWarning } from "../output.js";
import { askOnTerminal, canPrompt, MAX_SECRET_BYTES, readSecretFromStdin } from "../prompt.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";

export interface LoginFlags extends RemoteFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

export async function run(registryText: string, flags: LoginFlags): Promise<void> {
  const registry = parseRegistryHost(registryText);
  const credential = await credentialFor(registry, flags);
  // Like docker login: check the credentials first, so wrong ones are never saved.
  const check = new RemoteRegistry(registry, { ...(await registrySettings(flags)).remote, credentials: staticCredentials({ [registry]: credential }) });
  await check.ping();
  const stored = await storeDockerCredential(registry, credential);
  printLine(`Login succeeded for ${registry} (credentials saved in ${stored.location})`);
}

/** Where the password comes from, in docker's order: --password, --password-stdin, else a prompt on the terminal. */
async function credentialFor(registry: string, flags: LoginFlags): Promise<{ username: string; password: string }> {
  const stdinHint = `echo "$TOKEN" | kit login ${registry} -u ${flags.username || "USERNAME"} --password-stdin`;
  if (flags.password !== undefined && flags.passwordStdin) throw new UsageError("--password and --password-stdin cannot be used together");
  if (flags.password !== undefined) {
    printWarning("using --password via the CLI is insecure (other users can see it in the process list); use --password-stdin");
    if (!flags.username) throw new UsageError("kit login --password needs --username (-u)");
    return nonEmpty({ username: flags.username, password: flags.password });
  }
  if (flags.passwordStdin) {
    if (!flags.username) throw new UsageError("kit login --password-stdin needs --username (-u)", { hint: stdinHint });
    const password = await readSecretFromStdin("password");
    if (password === "") throw new UsageError("no password on standard input");
    return { username: flags.username, password };
  }
  if (!canPrompt()) {
    throw new UsageError("kit login needs a password: standard input is not a terminal to ask on", { hint: stdinHint });
  }
  const username = flags.username || (await askOnTerminal("Username: ", "username", { echo: true })).trim();
  if (username === "") throw new UsageError("no username given");
  const password = await askOnTerminal("Password: ", "password", { echo: false });
  if (Buffer.byteLength(password) > MAX_SECRET_BYTES) throw new UsageError("the password is too long");
  return nonEmpty({ username, password });
}

function nonEmpty(credential: { username: string; password: string }): { username: string; password: string } {
  if (credential.password === "") throw new UsageError("no password given");
  return credential;
}
