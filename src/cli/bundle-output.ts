/** How kit save, kit bundle ls and kit inspect (of a bundle) show a bundle's entries: one table, one JSON shape. */
import type { BundleRoot } from "../kit/bundle/roots.js";
import { formatTable } from "./table.js";

/** `sha256:` and 12 hex digits, as kit ls shortens digests. */
const SHORT_DIGEST = "sha256:".length + 12;

export interface BundleEntryJson {
  kind: "kit" | "image" | "attachment" | null;
  reference: string | null;
  digest: string;
  mediaType: string;
  size: number;
  name?: string;
  version?: string;
  image?: string;
}

export function bundleEntryJson(root: BundleRoot): BundleEntryJson {
  const { mediaType, digest, size } = root.descriptor;
  return { kind: root.kind ?? null, reference: root.reference ?? null, digest, mediaType, size, ...(root.kit ?? {}) };
}

/** KIND REFERENCE DIGEST KIT, the digest shortened. */
export function bundleEntryTable(roots: readonly BundleRoot[]): string[] {
  const rows = roots.map((r) => [
    r.kind ?? "-",
    r.reference ?? "(untagged)",
    r.descriptor.digest.slice(0, SHORT_DIGEST),
    r.kit ? `${r.kit.name} ${r.kit.version}` : "",
  ]);
  return formatTable([["KIND", "REFERENCE", "DIGEST", "KIT"], ...rows]);
}
