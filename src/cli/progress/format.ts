/**
 * The text of progress rows: sizes, rates, times and bars as plain
 * characters. Binary units, as docker and skopeo show transfers.
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** `0 B`, `512 B`, `1.0 KiB`, `12.3 MiB`, `230 MiB`: one decimal below 100 of a unit, none above. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "--";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Rounded as shown: 1023.96 KiB reads "1.0 MiB", not "1024 KiB".
  if (value >= 1023.95 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 99.95 ? value.toFixed(1) : Math.round(value).toString()} ${UNITS[unit]}`;
}

/** Bytes a second, or `--` while unknown (nothing measured yet, or a stall of zero). */
export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return "-- B/s";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Time left: `45s`, `3m05s`, `2h07m`; `--` when unknown or beyond 99 hours (a stall, not a forecast). */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 100 * 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return "--";
}

/** `[=====>    ]`, `width` characters in all; a fraction outside 0..1 is clamped. */
export function formatBar(fraction: number, width: number): string {
  const inner = Math.max(0, width - 2);
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.floor(f * inner);
  const body = filled >= inner ? "=".repeat(inner) : "=".repeat(filled) + (filled > 0 || f > 0 ? ">" : " ") + " ".repeat(inner - filled - 1);
  return `[${body}]`;
}

/** `42%`, floored, so 100% means done. */
export function formatPercent(fraction: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  return `${Math.floor(f * 100)}%`;
}

/** Text cut to `width` characters, ending in `…` when cut. */
export function fitText(text: string, width: number): string {
  if (width <= 0) return "";
  const chars = [...text];
  if (chars.length <= width) return text;
  return chars.slice(0, width - 1).join("") + "…";
}
