/**
 * Transfer progress on a real pseudo-terminal (util-linux `script`): rows per
 * blob and a total with bytes, rate and ETA while kit copy, push and pull run;
 * on a pipe, with --quiet or with --json nothing but what is printed without
 * it; never a colour; and the terminal library is not even loaded off a
 * terminal.
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKit } from "../support/cli.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage, buildImageIndex, type BuiltImageIndex } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { plainText, runKitInTerminal } from "../support/terminal.js";

const MB = 1024 * 1024;
const CHUNKS = fileURLToPath(new URL("../../dist/bundle/chunks/", import.meta.url));
const RECORD_LOADS = pathToFileURL(fileURLToPath(new URL("../support/record-loads.mjs", import.meta.url))).href;
// Select Graphic Rendition: every colour or style a terminal is told to use.
const COLOUR = /\u001b\[[0-9;:]*m/;
const BLOB_ROW = /^ {2}blob sha256:[0-9a-f]{12} +\[[=> ]+\] +\d+(\.\d)? (B|KiB|MiB) \/ \d+(\.\d)? MiB +\d+% +(-- B\/s|\d+(\.\d)? (B|KiB|MiB)\/s)$/m;
const TOTAL_ROW = /^total +\[[=> ]+\] +\d+(\.\d)? (B|KiB|MiB) \/ \d+(\.\d)? (KiB|MiB) +\d+% +\d+(\.\d)? (B|KiB|MiB)\/s +ETA (\d+s|\d+m\d\ds) +\d+\/\d+ done/m;

let source: RunningRegistry;
let destination: RunningRegistry;
let slow: FaultProxy;
let image: BuiltImageIndex;
let work: string;
let run = 0;

/** A fresh repository for each copy, so every run moves every blob. */
function fresh(name: string): string {
  return `${destination.host}/progress/${name}-${++run}`;
}

function storeEnv(store: string): NodeJS.ProcessEnv {
  return { KIT_STORE: store, DOCKER_CONFIG: path.join(work, "no-docker-config") };
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-progress-"));
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  image = await buildImageIndex(
    { url: source.url, repo: "src/app" },
    { platforms: ["linux/amd64", "linux/arm64"], layerSizes: [1 * MB, 8 * MB], tag: "v1", seed: "progress-cli" },
  );
  // Every blob download pauses after its first MiB: the copy lasts long enough for several frames with a rate.
  slow = await startFaultProxy({ upstream: source });
  slow.addRule({ method: "GET", path: /\/blobs\/sha256:/, times: Infinity, stallAfterBytes: 512 * 1024, stallMs: 700 });
});

afterAll(async () => {
  await Promise.all([source?.stop(), destination?.stop(), slow?.stop()]);
});

/** The last line written, once progress is erased: what the reader is left with. */
function lastLine(output: string): string {
  return plainText(output).trimEnd().split("\n").at(-1)!;
}

describe("progress on a terminal", () => {
  it("kit copy shows a row per active blob and a total with bytes, rate and ETA, then only the digest", async () => {
    const result = await runKitInTerminal(["copy", `${slow.host}/src/app:v1`, fresh("copy")]);
    expect(result.code).toBe(0);
    const text = plainText(result.output);
    expect(text).toMatch(BLOB_ROW);
    expect(text).toMatch(TOTAL_ROW);
    // The totals are known from the plan: every frame counts all 9 nodes and every byte of the graph.
    const total = `${(image.descriptors.reduce((sum, d) => sum + d.size, 0) / MB).toFixed(1)} MiB`;
    const nodes = image.descriptors.length;
    expect(nodes).toBe(9);
    for (const row of text.split("\n").filter((l) => l.startsWith("total"))) {
      expect(row).toContain(`/ ${total}`);
      expect(row).toMatch(new RegExp(`\\d/${nodes} done`));
    }
    expect(lastLine(result.output)).toBe(image.digest);
    // log-update shows the cursor again once it is done.
    expect(result.output.lastIndexOf("\u001b[?25h")).toBeGreaterThan(result.output.lastIndexOf("\u001b[?25l"));
  });

  it("uses no colour, with NO_COLOR and without", async () => {
    for (const env of [{ NO_COLOR: "1" }, { NO_COLOR: "", FORCE_COLOR: "1" }]) {
      const result = await runKitInTerminal(["copy", `${slow.host}/src/app:v1`, fresh("colour")], { env });
      expect(result.code).toBe(0);
      expect(plainText(result.output)).toMatch(TOTAL_ROW);
      expect(result.output).not.toMatch(COLOUR);
    }
  });

  it("fits a narrow terminal: no line is as wide as it, and the rows lose their bars first", async () => {
    const result = await runKitInTerminal(["copy", `${slow.host}/src/app:v1`, fresh("narrow")], { columns: 60 });
    expect(result.code).toBe(0);
    const lines = plainText(result.output).trimEnd().split("\n");
    expect(lines.pop()).toBe(image.digest);
    expect(lines.some((l) => l.startsWith("total"))).toBe(true);
    expect(lines.some((l) => l.startsWith("  blob "))).toBe(true);
    for (const line of lines) expect([...line].length, line).toBeLessThan(60);
    expect(lines.filter((l) => l.includes("["))).toEqual([]);
  });

  it("shows the cursor again when interrupted mid-transfer (Ctrl-C), and ends as SIGINT does", async () => {
    const stalled = await startFaultProxy({ upstream: source });
    try {
      stalled.addRule({ method: "GET", path: /\/blobs\/sha256:/, times: Infinity, stallAfterBytes: 256 * 1024, stallMs: 30_000 });
      const result = await runKitInTerminal(["copy", `${stalled.host}/src/app:v1`, fresh("interrupted")], {
        interruptWhen: (output) => /\d+ KiB \/ \d+\.\d MiB/.test(plainText(output)),
      });
      expect(result.code).toBe(128 + 2);
      expect(result.output.lastIndexOf("\u001b[?25h")).toBeGreaterThan(result.output.lastIndexOf("\u001b[?25l"));
    } finally {
      await stalled.stop();
    }
  });

  it("--quiet and -q print only the digest: no progress, no escape sequence at all", async () => {
    for (const flag of ["--quiet", "-q"]) {
      const result = await runKitInTerminal(["copy", `${slow.host}/src/app:v1`, fresh("quiet"), flag]);
      expect(result).toEqual({ code: 0, output: `${image.digest}\r\n` });
    }
  });

  it("--json prints the JSON document alone, the same as on a pipe", async () => {
    const dst = fresh("json");
    const onTerminal = await runKitInTerminal(["copy", `${source.host}/src/app:v1`, dst, "--json"]);
    expect(onTerminal.code).toBe(0);
    expect(onTerminal.output).not.toContain("\u001b");
    const piped = await runKit(["copy", `${source.host}/src/app:v1`, fresh("json"), "--json"]);
    const doc = JSON.parse(onTerminal.output.replace(/\r\n/g, "\n"));
    const pipedDoc = JSON.parse(piped.stdout);
    expect(doc).toMatchObject({ digest: image.digest, destination: `${dst}@${image.digest}` });
    expect(Object.keys(doc)).toEqual(Object.keys(pipedDoc));
    expect(doc.plan.nodes).toEqual(pipedDoc.plan.nodes);
  });

  it("kit push and kit pull show their blobs' total, then their usual lines", async () => {
    const store = await mkdtemp(path.join(work, "store-"));
    await buildImage({ url: destination.url, repo: "base/agent" }, { tag: "latest", seed: "progress-base" });
    const dir = await mkdtemp(path.join(work, "kit-"));
    await writeFile(path.join(dir, "kit.yaml"), `name: famiglia\nversion: "1.0.0"\nimage: ${destination.host}/base/agent:latest\n`);
    await writeFile(path.join(dir, "README.md"), "# famiglia\n");

    const push = await runKitInTerminal(["push", `${destination.host}/kits/famiglia:1.0.0`, dir], { env: storeEnv(store) });
    expect(push.code).toBe(0);
    expect(plainText(push.output)).toMatch(/^total +\[[=> ]+\] +\d+(\.\d)? (B|KiB) \/ \d+(\.\d)? (B|KiB) +\d+% .* \d\/4 done/m);
    const reference = lastLine(push.output);
    expect(reference).toMatch(new RegExp(`^${destination.host}/kits/famiglia@sha256:[0-9a-f]{64}$`));

    const pull = await runKitInTerminal(["pull", `${destination.host}/kits/famiglia:1.0.0`], { env: storeEnv(await mkdtemp(path.join(work, "store-"))) });
    expect(pull.code).toBe(0);
    // Three blobs (config, kit.yaml, README.md); the manifest was already in hand.
    expect(plainText(pull.output)).toMatch(/^total +\[[=> ]+\] +\d+(\.\d)? (B|KiB) \/ \d+(\.\d)? (B|KiB) +\d+% .* \d\/3 done/m);
    expect(lastLine(pull.output)).toBe(reference);
  });
});

describe("progress off a terminal", () => {
  it("kit copy through a pipe prints the digest and nothing on stderr", async () => {
    const result = await runKit(["copy", `${slow.host}/src/app:v1`, fresh("piped")]);
    expect(result).toEqual({ code: 0, stdout: `${image.digest}\n`, stderr: "" });
  });

  it("a dumb terminal gets no progress either: it cannot move the cursor", async () => {
    const result = await runKitInTerminal(["copy", `${source.host}/src/app:v1`, fresh("dumb")], { env: { TERM: "dumb" } });
    expect(result).toEqual({ code: 0, output: `${image.digest}\r\n` });
  });

  it("never loads the terminal library off a terminal (kit copy, kit pull, kit validate), and loads it on one", async () => {
    const library = readdirSync(CHUNKS).filter((f) => f.endsWith(".cjs") && readFileSync(path.join(CHUNKS, f), "utf8").includes("[?2026h"));
    // log-update's synchronized-output sequence marks the chunk that holds it; there is exactly one.
    expect(library).toHaveLength(1);
    const loads = async (args: string[], inTerminal: boolean): Promise<string[]> => {
      const log = path.join(await mkdtemp(path.join(work, "loads-")), "loads.txt");
      const env = { ...storeEnv(await mkdtemp(path.join(work, "store-"))), KIT_LOAD_LOG: log, NODE_OPTIONS: `--import=${RECORD_LOADS}` };
      const result = inTerminal ? await runKitInTerminal(args, { env }) : await runKit(args, { env });
      expect(result.code).toBe(0);
      return (await readFile(log, "utf8")).split("\n").filter((url) => url.includes("/dist/bundle/"));
    };
    const kitDir = fileURLToPath(new URL("../../examples/famiglia", import.meta.url));
    const pushed = await runKit(["push", `${destination.host}/kits/loads:1.0.0`, kitDir, "--no-pin"], { env: storeEnv(await mkdtemp(path.join(work, "store-"))) });
    expect(pushed.code).toBe(0);

    for (const args of [
      ["copy", `${source.host}/src/app:v1`, fresh("loads")],
      ["pull", `${destination.host}/kits/loads:1.0.0`, "--allow-unpinned"],
      ["validate", kitDir],
    ]) {
      const loaded = await loads(args, false);
      expect(loaded.some((url) => url.endsWith("/main.cjs")), args[0]).toBe(true);
      expect(loaded.filter((url) => url.endsWith(`/${library[0]}`)), args[0]).toEqual([]);
    }
    const onTerminal = await loads(["copy", `${source.host}/src/app:v1`, fresh("loads")], true);
    expect(onTerminal.filter((url) => url.endsWith(`/${library[0]}`))).toHaveLength(1);
  });
});
