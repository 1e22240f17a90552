/** How kit save, kit bundle ls and kit inspect (of a bundle) show a bundle's entries: one table, one JSON shape. */
import type { BundleRoot } from "../kit/bundle/roots.js";
import { formatTable, shortDigest } from "./table.js";


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
    shortDigest(r.descriptor.digest),
    r.kit ? `${r.kit.name} ${r.kit.version}` : "",
  ]);
  return formatTable([["KIND", "REFERENCE", "DIGEST", "KIT"], ...rows]);
}
