import { UsageError } from "../../oras/errors.js";
import { parseRegistryHost } from "../../oras/reference.js";
import { RemoteRegistry } from "../../oras/remote/registry.js";
import { staticCredentials, storeDockerCredential } from "../../oras/remote/index.js";
import { printLine } from "../output.js";
import { remoteOptions, type RemoteFlags } from "../remote-options.js";

const MAX_PASSWORD_BYTES = 64 * 1024;

export async function run(registryText: string, flags: RemoteFlags & { username?: string; passwordStdin?: boolean }): Promise<void> {
  const registry = parseRegistryHost(registryText);
  if (!flags.username) throw new UsageError("kit login needs --username (-u)");
  if (!flags.passwordStdin) {
    throw new UsageError("kit login reads the password from standard input only", { hint: `echo "$TOKEN" | kit login ${registry} -u ${flags.username} --password-stdin` });
  }
  const password = await readPassword();
  if (password === "") throw new UsageError("no password on standard input");
  const credential = { username: flags.username, password };
  // Like docker login: check the credentials first, so wrong ones are never saved.
  const check = new RemoteRegistry(registry, { ...remoteOptions(flags), credentials: staticCredentials({ [registry]: credential }) });
  await check.ping();
  const stored = await storeDockerCredential(registry, credential);
  printLine(`Login succeeded for ${registry} (credentials saved in ${stored.location})`);
}

async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_PASSWORD_BYTES) throw new UsageError("the password on standard input is too long");
    chunks.push(chunk as Buffer);
  }
  // One trailing newline is what `echo` adds; anything else belongs to the password.
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}
