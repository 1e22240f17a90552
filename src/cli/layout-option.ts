/** `--layout DIR`: the maintenance commands (gc, store verify) work on any OCI layout instead of the local store. */
import { UsageError } from "../oras/errors.js";
import { OciLayout } from "../oras/layout/store.js";

/** Open the layout DIR (or `oci:DIR`) names; it is never created. */
export function openLayoutOption(text: string): Promise<OciLayout> {
  const path = text.startsWith("oci:") ? text.slice("oci:".length) : text;
  if (path === "") throw new UsageError("--layout needs a directory: --layout DIR or --layout oci:DIR");
  return OciLayout.open(path, { create: false });
}
