import { NotFoundError } from "../../oras/errors.js";
import { parseRegistryHost } from "../../oras/reference.js";
import { eraseDockerCredential } from "../../oras/remote/index.js";
import { printLine } from "../output.js";

export async function run(registryText: string): Promise<void> {
  const registry = parseRegistryHost(registryText);
  const removed = await eraseDockerCredential(registry);
  if (!removed) throw new NotFoundError(`not logged in to ${registry}`);
  printLine(`Removed login credentials for ${registry}`);
}
