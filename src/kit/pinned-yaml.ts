/**
 * A kit.yaml as its author wrote it, with only the `image:` value replaced
 * (by the pinned `REGISTRY/REPO:TAG@sha256:…` of a published kit). The value
 * is spliced into the text at the position the YAML parser gives it, so every
 * comment, quote and blank line of the original survives byte for byte.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parseDocument, Scalar, stringify } from "yaml";
import { InvalidContentError } from "../oras/errors.js";
import { checkKitManifest } from "./load.js";

/** `text` with its top-level `image:` value set to `image`; throws InvalidContentError when `text` is not a valid kit. */
export function kitYamlWithImage(text: string, image: string): string {
  const original = checkKitManifest(Buffer.from(text, "utf8")).value;
  if (original === undefined) throw new InvalidContentError("kit.yaml is not a valid kit");
  const expected = { ...original, image };
  const spliced = spliceImage(text, image);
  // An anchored image another field aliases would change too: then only a re-serialised document is right.
  if (spliced !== undefined && isDeepStrictEqual(checkKitManifest(Buffer.from(spliced, "utf8")).value, expected)) return spliced;
  return stringify(expected);
}

function spliceImage(text: string, image: string): string | undefined {
  const doc = parseDocument(text, { version: "1.2" });
  if (!isMap(doc.contents)) return undefined;
  const node = doc.contents.get("image", true);
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  if (node === undefined || range === undefined) return undefined;
  let source: string;
  if (isScalar(node) && node.type === Scalar.PLAIN) source = image;
  else if (isScalar(node) && node.type === Scalar.QUOTE_SINGLE) source = `'${image.replaceAll("'", "''")}'`;
  // Double-quoted, an alias, a block scalar (whose source ends with its line break): a JSON string is valid YAML.
  else source = JSON.stringify(image) + (text.slice(range[0], range[1]).endsWith("\n") ? "\n" : "");
  return text.slice(0, range[0]) + source + text.slice(range[1]);
}
