/**
 * The names of the bundle format (spec/bundle-v1.md): a tar holding an OCI
 * image layout at its root, and the annotations of its index.json entries.
 * Which tar entries a bundle may hold is decided here, for every reader.
 */
import { InvalidContentError, isDigest, parseDigest, UnsupportedError } from "../../oras/content.js";

export const OCI_LAYOUT_ENTRY = "oci-layout";
export const INDEX_ENTRY = "index.json";

/**
 * What an index.json entry is (Annotation.Kind): a kit, an image (a kit's
 * base image), or an attachment of either (a referrer, or a cosign
 * `sha256-<hex>.sig|.att|.sbom` tag: signatures, attestations, SBOMs).
 */
export type BundleEntryKind = "kit" | "image" | "attachment";

/** Tar entry name of a blob: `blobs/<alg>/<hex>`. */
export function blobEntryName(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

export type LayoutPath = { kind: "oci-layout" } | { kind: "index" } | { kind: "blob"; digest: string } | { kind: "directory" };

/** Directories a tarred layout may list (they carry nothing): the root, blobs/, blobs/<alg>/ and oras-go's and kit's empty ingest/. */
const DIRECTORIES = /^(?:|blobs|blobs\/[a-z0-9]+|ingest)$/;

/**
 * What a tar entry is in the layout, or a refusal naming it. A bundle holds
 * regular files named `oci-layout`, `index.json` and `blobs/<alg>/<hex>`,
 * optionally under `./` (system tar writes that), and the directories above.
 * Anything else — a path that is absolute or climbs (`..`), a link, a device,
 * a FIFO, any other file — is refused: load never extracts, but a bundle that
 * would write outside its layout when unpacked by another tool is not one.
 */
export function classifyEntry(path: string, type: string): LayoutPath {
  const named = `bundle entry ${JSON.stringify(path)}`;
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) throw refused(named, "its path is absolute");
  const parts = path.split("/");
  if (parts.includes("..")) throw refused(named, 'its path climbs out of the layout with ".."');
  let rest = path;
  while (rest.startsWith("./")) rest = rest.slice(2);
  if (rest === ".") rest = "";
  const isDirectory = type === "Directory";
  if (isDirectory) rest = rest.replace(/\/$/, "");
  if (type !== "File" && type !== "OldFile" && type !== "ContiguousFile" && !isDirectory) {
    throw refused(named, `it is a ${describeType(type)}, and a bundle holds regular files only`);
  }
  if (rest.includes("\\") || rest.split("/").some((p) => p === "" || p === ".")) {
    if (!(isDirectory && rest === "")) throw refused(named, "its path is not in canonical form");
  }
  if (isDirectory) {
    if (DIRECTORIES.test(rest)) return { kind: "directory" };
    throw refused(named, "a bundle's layout has no such directory");
  }
  if (rest === OCI_LAYOUT_ENTRY) return { kind: "oci-layout" };
  if (rest === INDEX_ENTRY) return { kind: "index" };
  const blob = /^blobs\/([^/]+)\/([^/]+)$/.exec(rest);
  if (blob) {
    const digest = `${blob[1]}:${blob[2]}`;
    if (isDigest(digest)) return { kind: "blob", digest };
    // parseDigest says what is wrong: an unsupported algorithm, or a name that is no digest at all.
    try {
      parseDigest(digest);
    } catch (err) {
      if (err instanceof UnsupportedError) throw new UnsupportedError(`${named}: ${err.message}`);
    }
    throw refused(named, "a blob's name must be its digest, blobs/sha256/<64 hex digits> or blobs/sha512/<128>");
  }
  throw refused(named, "a bundle holds only oci-layout, index.json and blobs/<alg>/<hex>");
}

function refused(named: string, why: string): InvalidContentError {
  return new InvalidContentError(`${named} is refused: ${why}`, { hint: "the bundle is damaged or was not written as an OCI image layout; nothing was written" });
}

function describeType(type: string): string {
  switch (type) {
    case "SymbolicLink":
      return "symbolic link";
    case "Link":
      return "hard link";
    case "CharacterDevice":
      return "character device";
    case "BlockDevice":
      return "block device";
    case "FIFO":
      return "FIFO";
    default:
      return `tar entry of type ${type}`;
  }
}
