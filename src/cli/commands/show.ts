import { kitYamlWithImage } from "../../kit/pinned-yaml.js";
import { readKitReference } from "../../kit/read-reference.js";
import { registrySettings, type RemoteFlags } from "../remote-options.js";
import { escapeControlInDocument } from "../terminal-text.js";

/**
 * A published kit's kit.yaml (with the pinned image) or README.md, read and
 * verified like pull but written nowhere. A pipe or file gets the exact bytes;
 * a terminal gets them with control characters made visible.
 */
export async function run(ref: string, flags: RemoteFlags & { readme?: boolean }): Promise<void> {
  const { content } = await readKitReference(ref, { remote: (await registrySettings(flags)).remote });
  const [kitYaml, readme] = content.layers;
  let bytes: Buffer;
  if (flags.readme) bytes = readme.bytes;
  // An unpinned kit's image is the one kit.yaml names already.
  else if (content.kit.unpinned) bytes = kitYaml.bytes;
  else bytes = Buffer.from(kitYamlWithImage(kitYaml.bytes.toString("utf8"), content.kit.image), "utf8");
  if (!process.stdout.isTTY) {
    process.stdout.write(bytes);
    return;
  }
  const text = escapeControlInDocument(bytes.toString("utf8"));
  process.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
}
