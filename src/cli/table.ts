/** Columns for human output: every column but the last padded to its widest cell, `gap` (two spaces) apart. */
import { escapeControl } from "./terminal-text.js";

export function formatTable(rows: readonly (readonly string[])[], opts: { indent?: string; gap?: string } = {}): string[] {
  const { indent = "", gap = "  " } = opts;
  // Measured as printed: an escaped control character takes several columns.
  const cells = rows.map((r) => r.map(escapeControl));
  const widths: number[] = [];
  for (const row of cells) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return cells.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join(gap));
}

/** `sha256:` and 12 hex digits, as docker shortens image IDs. */
export function shortDigest(digest: string): string {
  return digest.slice(0, "sha256:".length + 12);
}
