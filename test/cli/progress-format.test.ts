/**
 * The text of progress rows (sizes, rates, times, bars), the rate over a
 * window, and the frames drawn from transfer events, on a fake clock.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { printLine, printWarning, setLiveArea } from "../../src/cli/output.js";
import { copyProgress, NO_PROGRESS, progressItem, showsProgress, type TransferProgress } from "../../src/cli/progress/index.js";
import { fitText, formatBar, formatBytes, formatEta, formatPercent, formatRate } from "../../src/cli/progress/format.js";
import { RateMeter } from "../../src/cli/progress/rate.js";
import { Transfers } from "../../src/cli/progress/transfers.js";
import type { CopyPlan, PlanNode } from "../../src/oras/copy/index.js";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [99.94 * KiB, "99.9 KiB"],
    [99.96 * KiB, "100 KiB"],
    [1023.96 * KiB, "1.0 MiB"],
    [12.34 * MiB, "12.3 MiB"],
    [230 * MiB, "230 MiB"],
    [1.5 * 1024 * MiB, "1.5 GiB"],
    [3 * 1024 ** 4, "3.0 TiB"],
  ])("%d bytes is %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it("says -- for what is not a size", () => {
    expect(formatBytes(-1)).toBe("--");
    expect(formatBytes(Number.NaN)).toBe("--");
    expect(formatBytes(Infinity)).toBe("--");
  });
});

describe("formatRate", () => {
  it("is bytes a second, or -- while unknown or stalled", () => {
    expect(formatRate(8.1 * MiB)).toBe("8.1 MiB/s");
    expect(formatRate(500)).toBe("500 B/s");
    expect(formatRate(undefined)).toBe("-- B/s");
    expect(formatRate(0)).toBe("-- B/s");
    expect(formatRate(Number.NaN)).toBe("-- B/s");
  });
});

describe("formatEta", () => {
  it.each([
    [0, "0s"],
    [0.2, "1s"],
    [45, "45s"],
    [59.5, "1m00s"],
    [185, "3m05s"],
    [3599, "59m59s"],
    [3600, "1h00m"],
    [2 * 3600 + 7 * 60 + 30, "2h07m"],
    [99 * 3600 + 59 * 60, "99h59m"],
  ])("%d s is %s", (seconds, text) => {
    expect(formatEta(seconds)).toBe(text);
  });

  it("says -- when unknown, negative or beyond 99 hours", () => {
    expect(formatEta(undefined)).toBe("--");
    expect(formatEta(-1)).toBe("--");
    expect(formatEta(Infinity)).toBe("--");
    expect(formatEta(100 * 3600)).toBe("--");
  });
});

describe("formatBar and formatPercent", () => {
  it("fills the bar in proportion, with a head while under way", () => {
    expect(formatBar(0, 12)).toBe("[          ]");
    expect(formatBar(0.01, 12)).toBe("[>         ]");
    expect(formatBar(0.5, 12)).toBe("[=====>    ]");
    expect(formatBar(0.99, 12)).toBe("[=========>]");
    expect(formatBar(1, 12)).toBe("[==========]");
    for (const f of [0, 0.3, 0.77, 1]) expect(formatBar(f, 22)).toHaveLength(22);
  });

  it("clamps what is out of range", () => {
    expect(formatBar(-1, 6)).toBe("[    ]");
    expect(formatBar(2, 6)).toBe("[====]");
    expect(formatBar(Number.NaN, 6)).toBe("[    ]");
    expect(formatPercent(1.5)).toBe("100%");
    expect(formatPercent(-0.1)).toBe("0%");
  });

  it("floors the percentage, so 100% means done", () => {
    expect(formatPercent(0.999)).toBe("99%");
    expect(formatPercent(1)).toBe("100%");
    expect(formatPercent(0.425)).toBe("42%");
  });
});

describe("fitText", () => {
  it("cuts to the width with an ellipsis, counting characters", () => {
    expect(fitText("kit.yaml", 20)).toBe("kit.yaml");
    expect(fitText("kit.yaml", 8)).toBe("kit.yaml");
    expect(fitText("kit.yaml", 5)).toBe("kit.…");
    expect(fitText("ééééé", 3)).toBe("éé…");
    expect(fitText("x", 0)).toBe("");
  });
});

describe("RateMeter", () => {
  it("has no rate until its samples span 200 ms, then bytes a second over the window", () => {
    const meter = new RateMeter(5000);
    meter.sample(0, 0);
    expect(meter.rate()).toBeUndefined();
    meter.sample(100, 1 * MiB);
    expect(meter.rate()).toBeUndefined();
    meter.sample(1000, 10 * MiB);
    expect(meter.rate()).toBe(10 * MiB);
  });

  it("follows a change of speed: samples older than the window stop counting", () => {
    const meter = new RateMeter(2000);
    for (let t = 0; t <= 10_000; t += 100) meter.sample(t, t <= 5000 ? t * 10 * KiB : 5000 * 10 * KiB);
    // Five seconds of 10 MB/s, then a stall of five: the last two seconds moved nothing.
    expect(meter.rate()).toBe(0);
  });
});

class FakeClock {
  at = 0;
  readonly now = (): number => this.at;
}

function planOf(nodes: PlanNode[]): CopyPlan {
  const sum = (list: PlanNode[]) => list.reduce((s, n) => s + n.descriptor.size, 0);
  return { root: nodes.at(-1)!.descriptor, nodes, totalBytes: sum(nodes), bytesToTransfer: sum(nodes.filter((n) => n.action !== "skip")) };
}

function node(hex: string, size: number, extra: Partial<PlanNode> = {}, annotations?: Record<string, string>): PlanNode {
  return {
    descriptor: { mediaType: "application/octet-stream", digest: `sha256:${hex.repeat(64 / hex.length)}`, size, ...(annotations ? { annotations } : {}) },
    kind: "blob",
    action: "upload",
    children: [],
    ...extra,
  };
}

describe("Transfers frames", () => {
  it("shows active items and a total with bytes, percent, rate and ETA", () => {
    const clock = new FakeClock();
    const t = new Transfers(clock.now);
    t.plan([
      { id: "a", label: "blob sha256:aaaaaaaaaaaa", bytes: 10 * MiB },
      { id: "b", label: "blob sha256:bbbbbbbbbbbb", bytes: 30 * MiB },
      { id: "c", label: "manifest sha256:cccccccccccc", bytes: 1000 },
    ]);
    expect(t.frame({ width: 120 })).toEqual(["total  [                    ]       0 B / 40.0 MiB    0%      -- B/s  ETA --  0/3 done"]);

    t.start("a");
    t.bytes("b", 0);
    clock.at = 1000;
    t.bytes("a", 5 * MiB);
    t.bytes("b", 5 * MiB);
    const frame = t.frame({ width: 120 });
    expect(frame).toEqual([
      "  blob sha256:aaaaaaaaaaaa  [==========>         ]   5.0 MiB / 10.0 MiB   50%   5.0 MiB/s",
      "  blob sha256:bbbbbbbbbbbb  [===>                ]   5.0 MiB / 30.0 MiB   16%   5.0 MiB/s",
      "total  [====>               ]  10.0 MiB / 40.0 MiB   24%  10.0 MiB/s  ETA 4s  0/3 done",
    ]);

    t.done("a");
    t.done("b");
    clock.at = 2000;
    // A manifest reports no bytes; done counts all of them.
    t.start("c");
    t.done("c");
    expect(t.frame({ width: 120 })).toEqual(["total  [====================]  40.0 MiB / 40.0 MiB  100%  20.0 MiB/s  ETA 0s  3/3 done"]);
  });

  it("never draws a line as wide as the terminal; a narrow one loses bars, then label characters", () => {
    const clock = new FakeClock();
    const t = new Transfers(clock.now);
    t.plan([{ id: "a", label: "blob sha256:aaaaaaaaaaaa", bytes: 10 * MiB }]);
    t.bytes("a", 1 * MiB);
    clock.at = 500;
    for (const width of [30, 60, 80, 100, 200]) {
      const lines = t.frame({ width });
      for (const line of lines) expect([...line].length, `${width}: ${line}`).toBeLessThan(Math.max(width, 21));
    }
    expect(t.frame({ width: 80 })[0]).toBe("  blob sha256:aaaaaaaaaaaa  [=>        ]   1.0 MiB / 10.0 MiB   10%   2.0 MiB/s");
    expect(t.frame({ width: 60 })[0]).toBe("  blob sha256:aaa…   1.0 MiB / 10.0 MiB   10%   2.0 MiB/s");
  });

  it("shows at most maxRows active items, and counts the rest on one line", () => {
    const t = new Transfers(() => 0);
    t.plan(Array.from({ length: 7 }, (_, i) => ({ id: String(i), label: `blob ${i}`, bytes: 100 })));
    for (let i = 0; i < 7; i++) t.start(String(i));
    const lines = t.frame({ width: 100, maxRows: 3 });
    expect(lines.map((l) => l.trim().split(/ {2,}/)[0])).toEqual(["blob 0", "blob 1", "blob 2", "… and 4 more", "total"]);
  });

  it("escapes control characters in labels, which registries control", () => {
    const t = new Transfers(() => 0);
    t.plan([{ id: "x", label: "evil\u001b[2J\rtitle\u202e", bytes: 10 }]);
    t.start("x");
    const [row] = t.frame({ width: 120 });
    expect(row).toContain("evil\\u001b[2J\\rtitle\\u202e");
    expect(row).not.toMatch(/[\u0000-\u001f\u202e]/);
  });

  it("counts skipped items apart, out of the bytes to go; counts an item planned twice once", () => {
    const t = new Transfers(() => 0);
    t.plan([
      { id: "a", label: "a", bytes: 10 * MiB, skipped: true },
      { id: "b", label: "b", bytes: 1 * MiB },
    ]);
    t.plan([{ id: "b", label: "b again", bytes: 1 * MiB }, { id: "c", label: "c", bytes: 1 * MiB }]);
    expect(t.frame({ width: 120 }).at(-1)).toMatch(/ 0 B \/ 2\.0 MiB .* 0\/2 done, 1 already there$/);
  });

  it("starts a blob sent again from zero, and measures the rate by bytes that moved (a mount moves none)", () => {
    const clock = new FakeClock();
    const t = new Transfers(clock.now);
    t.plan([
      { id: "a", label: "a", bytes: 4 * MiB },
      { id: "m", label: "m", bytes: 100 * MiB },
    ]);
    t.bytes("a", 3 * MiB);
    t.bytes("a", 0);
    t.bytes("a", 1 * MiB);
    clock.at = 1000;
    t.done("m", "mount");
    // 4 MiB moved in a second (3, then 1 of the second attempt); the mounted 100 MiB did not.
    expect(t.frame({ width: 120 }).at(-1)).toMatch(/ 101 MiB \/ 104 MiB +97% +4\.0 MiB\/s +ETA 1s +1\/2 done$/);
  });

  it("ignores events for items it was not told of, and anything after done", () => {
    const t = new Transfers(() => 0);
    t.plan([{ id: "a", label: "a", bytes: 10 }]);
    t.bytes("nope", 5);
    t.done("nope");
    t.done("a");
    t.bytes("a", 3);
    expect(t.frame({ width: 120 }).at(-1)).toMatch(/ 10 B \/ 10 B +100% .* 1\/1 done$/);
  });
});

describe("copy events as progress", () => {
  function recorder(): { progress: TransferProgress; calls: unknown[][] } {
    const calls: unknown[][] = [];
    const progress: TransferProgress = {
      plan: (items) => calls.push(["plan", items]),
      start: (id) => calls.push(["start", id]),
      bytes: (id, n) => calls.push(["bytes", id, n]),
      done: (id, how) => calls.push(["done", id, how]),
      finish: async () => void calls.push(["finish"]),
    };
    return { progress, calls };
  }

  it("turns the plan into items (title or kind, short digest) and events into calls", () => {
    const { progress, calls } = recorder();
    const layer = node("ab", 5 * MiB);
    const yaml = node("cd", 300, {}, { "org.opencontainers.image.title": "kit.yaml" });
    const there = node("ef", 7, { action: "skip", reason: "exists" });
    const root = node("12", 500, { kind: "manifest", children: [layer.descriptor.digest, yaml.descriptor.digest, there.descriptor.digest] });
    const { onPlan, onProgress } = copyProgress(progress);
    onPlan(planOf([layer, yaml, there, root]));
    onProgress({ type: "skip", node: there, reason: "exists" });
    onProgress({ type: "start", node: layer });
    onProgress({ type: "bytes", node: layer, transferred: 1000 });
    onProgress({ type: "retry", node: layer, attempt: 2, error: new Error("reset") });
    onProgress({ type: "done", node: layer, via: "mount" });
    onProgress({ type: "done", node: root, via: "upload" });
    onProgress({ type: "tag", descriptor: root.descriptor, tag: "v1" });
    expect(calls).toEqual([
      [
        "plan",
        [
          { id: layer.descriptor.digest, label: "blob sha256:abababababab", bytes: 5 * MiB, skipped: false },
          { id: yaml.descriptor.digest, label: "kit.yaml sha256:cdcdcdcdcdcd", bytes: 300, skipped: false },
          { id: there.descriptor.digest, label: "blob sha256:efefefefefef", bytes: 7, skipped: true },
          { id: root.descriptor.digest, label: "manifest sha256:121212121212", bytes: 500, skipped: false },
        ],
      ],
      ["start", layer.descriptor.digest],
      ["bytes", layer.descriptor.digest, 1000],
      ["bytes", layer.descriptor.digest, 0],
      ["done", layer.descriptor.digest, "mount"],
      ["done", root.descriptor.digest, "transfer"],
    ]);
    expect(progressItem(root).label).toBe("manifest sha256:121212121212");
  });
});

describe("when progress is shown", () => {
  it("only on a terminal, without --quiet or --json, and not on a dumb one", () => {
    const tty = { isTTY: true };
    expect(showsProgress({}, tty, {})).toBe(true);
    expect(showsProgress({}, tty, { TERM: "xterm-256color", NO_COLOR: "1" })).toBe(true);
    expect(showsProgress({}, { isTTY: false }, {})).toBe(false);
    expect(showsProgress({}, {}, {})).toBe(false);
    expect(showsProgress({ quiet: true }, tty, {})).toBe(false);
    expect(showsProgress({ json: true }, tty, {})).toBe(false);
    expect(showsProgress({}, tty, { TERM: "dumb" })).toBe(false);
  });

  it("the quiet reporter does nothing, and finishes at once", async () => {
    NO_PROGRESS.plan([{ id: "a", label: "a", bytes: 1 }]);
    NO_PROGRESS.bytes("a", 1);
    NO_PROGRESS.done("a");
    await expect(NO_PROGRESS.finish()).resolves.toBeUndefined();
  });
});

describe("lines printed while progress is drawn", () => {
  let restore = (): void => {};
  afterEach(() => {
    setLiveArea(undefined);
    vi.restoreAllMocks();
    restore();
  });

  /** Pretend `stream` is a terminal and record what is written to it, and when the area is cleared and redrawn. */
  function onTerminal(stream: NodeJS.WriteStream, isTTY: boolean): string[] {
    const events: string[] = [];
    const was = Object.getOwnPropertyDescriptor(stream, "isTTY");
    Object.defineProperty(stream, "isTTY", { value: isTTY, configurable: true });
    vi.spyOn(stream, "write").mockImplementation(((chunk: string) => {
      events.push(`write ${chunk.trimEnd()}`);
      return true;
    }) as typeof stream.write);
    restore = () => {
      if (was) Object.defineProperty(stream, "isTTY", was);
      else delete (stream as { isTTY?: boolean }).isTTY;
    };
    setLiveArea({ clear: () => events.push("clear"), redraw: () => events.push("redraw") });
    return events;
  }

  it("go above the area on a terminal: cleared, written, drawn again", () => {
    const events = onTerminal(process.stderr, true);
    printWarning("tag 2.0.0 looks like a version");
    expect(events).toEqual(["clear", "write kit: warning: tag 2.0.0 looks like a version", "redraw"]);
  });

  it("leave the area alone when they go to a pipe", () => {
    const events = onTerminal(process.stdout, false);
    printLine("sha256:abc");
    expect(events).toEqual(["write sha256:abc"]);
  });
});
