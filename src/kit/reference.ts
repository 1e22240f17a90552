/**
 * How a kit is named, parsed once at the edge into a KitReference:
 * - in the local store by its `name`: `famiglia`, `famiglia:1.0.0`,
 *   `famiglia@sha256:…` (a short reference, which is how aegisd names kits);
 * - in a registry: `ghcr.io/org/famiglia-kit:1.0.0`, `…@sha256:…`;
 * - in an OCI layout: `oci:PATH[:TAG|@DIGEST]`;
 * - Helm's `oci://HOST/REPO…` is the registry reference it means.
 * A short reference has no slash, so it can never be mistaken for a registry
 * path; Docker Hub images must be written out in full.
 */
import { checkReferenceLength, formatReference, InvalidReferenceError, type LayoutReference, parseReference, parseTargetReference, type RegistryReference } from "../oras/content.js";
import { isKitName } from "./format.js";

export interface ShortKitReference {
  name: string;
  tag?: string;
  digest?: string;
}

/** A kit named by its `name` in the local store. */
export interface StoreReference extends ShortKitReference {
  kind: "store";
}

/** Every way to name a kit; library functions take it or the text it parses from. */
export type KitReference = StoreReference | RegistryReference | LayoutReference;

/**
 * Parse NAME[:TAG][@DIGEST] (no slash, NAME a kit name) as a store
 * reference, `oci:PATH…` as a layout (`oci://…` as Helm's registry
 * reference) and anything else as a registry reference.
 * A text that looks short but has a malformed tag or digest fails with the
 * registry reference parser's message.
 */
export function parseKitReference(text: string): KitReference {
  if (text.startsWith("oci:")) return parseTargetReference(text);
  const ref = parseReference(text);
  const short = shortReferenceOf(text, ref);
  return short === undefined ? ref : { kind: "store", ...short };
}

/** The parsed value of a reference given either way: text is parsed here, once. */
export function toKitReference(reference: string | KitReference): KitReference {
  return typeof reference === "string" ? parseKitReference(reference) : reference;
}

export function formatKitReference(ref: KitReference): string {
  if (ref.kind !== "store") return formatReference(ref);
  return ref.name + (ref.tag !== undefined ? `:${ref.tag}` : "") + (ref.digest !== undefined ? `@${ref.digest}` : "");
}

/**
 * True for `NAME`, `NAME:TAG`, `NAME@DIGEST` (and `NAME:TAG@DIGEST`) where
 * NAME is a kit name and there is no slash. A text that looks short but has a
 * malformed tag or digest is false, so it fails as a registry reference with
 * that reference parser's message.
 */
export function isShortKitReference(text: string): boolean {
  try {
    parseShortKitReference(text);
    return true;
  } catch {
    return false;
  }
}

/** Parse a short reference; InvalidReferenceError names what is wrong. */
export function parseShortKitReference(text: string): ShortKitReference {
  checkReferenceLength(text);
  if (text.includes("/")) {
    throw new InvalidReferenceError(`"${text}" is not a short kit reference: it names a registry repository (it has a "/")`);
  }
  const name = kitNameOf(text);
  if (!isKitName(name)) {
    throw new InvalidReferenceError(`"${text}" is not a short kit reference: "${name}" is not a kit name (lowercase letters, digits and "-")`);
  }
  // NAME[:TAG][@DIGEST] is what the registry grammar reads as a Docker Hub library name: let it check tag and digest.
  return shortReferenceOf(text, parseReference(text))!;
}

/** The short reference `text` is, given its parse as a registry reference; undefined when it is not short. */
function shortReferenceOf(text: string, ref: RegistryReference): ShortKitReference | undefined {
  const name = kitNameOf(text);
  if (text.includes("/") || !isKitName(name)) return undefined;
  const short: ShortKitReference = { name };
  if (ref.tag !== undefined) short.tag = ref.tag;
  if (ref.digest !== undefined) short.digest = ref.digest;
  return short;
}

function kitNameOf(text: string): string {
  return text.split(/[:@]/, 1)[0]!;
}
