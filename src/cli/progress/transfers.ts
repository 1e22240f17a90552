/**
 * What a progress display knows (items, bytes moved, when) and the frame it
 * draws from that: plain lines, no terminal, the clock passed in, so every
 * row can be tested as text.
 */
import { escapeControl } from "../terminal-text.js";
import { fitText, formatBar, formatBytes, formatEta, formatPercent, formatRate } from "./format.js";
import { RateMeter } from "./rate.js";
import type { ProgressItem } from "./types.js";

interface Item {
  label: string;
  bytes: number;
  skipped: boolean;
  transferred: number;
  state: "waiting" | "active" | "done";
  startedAt?: number;
}

export interface FrameOptions {
  /** Terminal columns; no line is longer than width - 1 (writing the last column wraps on some terminals). */
  width: number;
  /** Active items shown at most; the rest are counted on one line. */
  maxRows?: number;
}

const BAR = 22;
const MIN_BAR = 8;
const GAP = "  ";
/** "99.9 MiB / 99.9 MiB": longer amounts push the line on. */
const AMOUNTS = 19;
/** "99.9 MiB/s" */
const RATE = 10;
const MIN_LABEL = 12;
const MAX_LABEL = 40;
const INDENT = "  ";
/** What follows an item's label: amounts, percent and rate with their gaps. */
const ITEM_NUMBERS = GAP.length + AMOUNTS + GAP.length + 4 + GAP.length + RATE;
const DEFAULT_ROWS = 5;

export class Transfers {
  private readonly items = new Map<string, Item>();
  /** Bytes that moved through us, retries included: what the rate measures (a mount moves none). */
  private moved = 0;
  private readonly meter = new RateMeter();

  constructor(private readonly now: () => number = Date.now) {}

  plan(items: readonly ProgressItem[]): void {
    if (this.items.size === 0) this.meter.sample(this.now(), 0);
    for (const item of items) {
      if (this.items.has(item.id)) continue;
      const bytes = Math.max(0, item.bytes);
      this.items.set(item.id, {
        label: escapeControl(item.label),
        bytes,
        skipped: item.skipped ?? false,
        transferred: item.skipped ? bytes : 0,
        state: item.skipped ? "done" : "waiting",
      });
    }
  }

  start(id: string): void {
    const item = this.items.get(id);
    if (item === undefined || item.state !== "waiting") return;
    item.state = "active";
    item.startedAt = this.now();
  }

  bytes(id: string, transferred: number): void {
    const item = this.items.get(id);
    if (item === undefined || item.state === "done") return;
    if (item.state === "waiting") this.start(id);
    const now = Math.min(Math.max(0, transferred), item.bytes);
    if (now > item.transferred) this.moved += now - item.transferred;
    item.transferred = now;
  }

  done(id: string, how: "transfer" | "mount" = "transfer"): void {
    const item = this.items.get(id);
    if (item === undefined || item.state === "done") return;
    // What a blob reported no bytes for (a manifest, a small blob) moved all at once.
    if (how === "transfer") this.moved += item.bytes - item.transferred;
    item.transferred = item.bytes;
    item.state = "done";
  }

  /** The lines to show now: the active items, then the total. Samples the rate, so call it once a frame. */
  frame(opts: FrameOptions): string[] {
    const at = this.now();
    this.meter.sample(at, this.moved);
    const width = Math.max(20, opts.width - 1);
    const maxRows = opts.maxRows ?? DEFAULT_ROWS;
    const all = [...this.items.values()];
    const active = all.filter((i) => i.state === "active").sort((a, b) => a.startedAt! - b.startedAt!);
    const shown = active.slice(0, maxRows);
    // One label column for every item row, so their bars line up; a narrow terminal shortens the labels first.
    const room = width - INDENT.length - ITEM_NUMBERS - GAP.length;
    const labelWidth = Math.max(MIN_LABEL, Math.min(MAX_LABEL, room, ...shown.map((i) => [...i.label].length)));
    const lines = shown.map((item) => {
      const seconds = (at - item.startedAt!) / 1000;
      const rate = seconds >= 0.2 ? item.transferred / seconds : undefined;
      return row(INDENT + fitText(item.label, labelWidth).padEnd(labelWidth), [item.transferred, item.bytes], rate, [], width);
    });
    if (active.length > maxRows) lines.push(fitText(`${INDENT}… and ${active.length - maxRows} more`, width));

    const counted = all.filter((i) => !i.skipped);
    const total = counted.reduce((sum, i) => sum + i.bytes, 0);
    const done = counted.reduce((sum, i) => sum + i.transferred, 0);
    const rate = this.meter.rate();
    const eta = done >= total ? 0 : rate !== undefined && rate > 0 ? (total - done) / rate : undefined;
    const finished = counted.filter((i) => i.state === "done").length;
    const skipped = all.length - counted.length;
    const counts = `${finished}/${counted.length} done${skipped > 0 ? `, ${skipped} already there` : ""}`;
    lines.push(row("total", [done, total], rate, [`ETA ${formatEta(eta)}`, counts], width));
    return lines;
  }
}

/**
 * `LABEL  [bar]  DONE / TOTAL  PCT  RATE  EXTRA…`; the bar takes what room is
 * left (none on a narrow terminal), and a line too long anyway is cut.
 */
function row(label: string, [done, total]: [number, number], rate: number | undefined, extra: string[], width: number): string {
  const fraction = total === 0 ? 1 : done / total;
  const numbers = [`${formatBytes(done)} / ${formatBytes(total)}`.padStart(AMOUNTS), formatPercent(fraction).padStart(4), formatRate(rate).padStart(RATE), ...extra];
  const used = [label, ...numbers].reduce((sum, part) => sum + part.length, 0) + GAP.length * numbers.length;
  const bar = Math.min(BAR, width - used - GAP.length);
  const columns = [label, ...(bar >= MIN_BAR ? [formatBar(fraction, bar)] : []), ...numbers];
  return fitText(columns.join(GAP), width);
}
