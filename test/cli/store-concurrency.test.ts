/**
 * The local store used by many kit processes at once, and by processes
 * killed mid-transfer, against the real registry (the built CLI; run
 * `npm run build` first):
 * - 16 processes pulling, pushing, removing and collecting in one store all
 *   succeed or fail cleanly (a `kit: error:` line and a documented exit
 *   code), and `kit store verify` passes afterwards;
 * - a pull killed with SIGKILL while it waits for a blob leaves the store as
 *   it was, and a `kit copy` into the store killed mid-blob leaves nothing
 *   under a final name (only an ingest temp file, which `kit gc` removes once
 *   it is an hour old); the next pull or copy completes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciLayout } from "../../src/oras/layout/store.js";
import { KIT_BIN, runKit, type CliResult } from "../support/cli.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage, type BuiltSingleImage } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { treeSnapshot } from "../support/tree.js";

const KITS = 8;
/** The exit codes spec/cli.md documents; anything else (or a crash) is not a clean failure. */
const DOCUMENTED_EXITS = new Set([0, 1, 2, 3, 4, 5, 6]);

let registry: RunningRegistry;
let work: string;
/** Manifest digest of kits/kit-N:1.0.0 in the registry. */
const pushed: string[] = [];

async function kitDir(name: string): Promise<string> {
  const dir = path.join(work, "src", name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "kit.yaml"), `name: ${name}\nversion: "1.0.0"\nimage: ${registry.host}/base/agent:latest\n`);
  await writeFile(path.join(dir, "README.md"), `# ${name}\n`);
  return dir;
}

const envFor = (store: string) => ({ env: { KIT_STORE: store, DOCKER_CONFIG: path.join(work, "no-docker-config") } });

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-store-concurrency-"));
  registry = await startRegistry();
  await buildImage({ url: registry.url, repo: "base/agent" }, { tag: "latest", seed: "concurrency-base" });
  const seedStore = path.join(work, "seed-store");
  const results = await Promise.all(
    Array.from({ length: KITS }, async (_, i) => runKit(["push", `${registry.host}/kits/kit-${i}:1.0.0`, await kitDir(`kit-${i}`), "--json"], envFor(seedStore))),
  );
  for (const r of results) {
    expect(r, r.stderr).toMatchObject({ code: 0 });
    pushed.push((JSON.parse(r.stdout) as { digest: string }).digest);
  }
});
afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Succeeded, or failed with one documented exit code and a `kit: error:` line, never a crash. */
function expectCleanOutcome(what: string, result: CliResult): void {
  expect(DOCUMENTED_EXITS.has(result.code), `${what}: exit ${result.code}\n${result.stderr}`).toBe(true);
  if (result.code !== 0) expect(result.stderr, what).toMatch(/^kit: error: /m);
  expect(result.stderr, what).not.toMatch(/^\s+at /m);
}

describe("16 kit processes in one store at once", () => {
  it("pull, push, rm and gc all end cleanly, and kit store verify passes afterwards", async () => {
    const store = path.join(work, "shared-store");
    const env = envFor(store);
    // Something for rm and gc to work on from the start.
    for (const i of [6, 7]) expect((await runKit(["pull", `${registry.host}/kits/kit-${i}:1.0.0`], env)).code).toBe(0);
    const pushDirs = await Promise.all([0, 1, 2].map((j) => kitDir(`fresh-${j}`)));

    for (let round = 0; round < 2; round++) {
      const jobs: Array<[string, string[]]> = [
        ...[0, 1, 2, 3].map((i): [string, string[]] => [`pull kit-${i}`, ["pull", `${registry.host}/kits/kit-${i}:1.0.0`]]),
        ...[4, 5].map((i): [string, string[]] => [`pull kit-${i} by digest`, ["pull", `${registry.host}/kits/kit-${i}@${pushed[i]}`]]),
        ...pushDirs.map((dir, j): [string, string[]] => [`push fresh-${j}`, ["push", `${registry.host}/kits/fresh-${j}:1.0.${round}`, dir]]),
        ["rm kit-6", ["rm", "kit-6"]],
        ["rm kit-7 by reference", ["rm", `${registry.host}/kits/kit-7:1.0.0`]],
        ["rm kit-0", ["rm", "kit-0"]],
        ["gc", ["gc"]],
        ["gc --json", ["gc", "--json"]],
        ["store gc", ["store", "gc"]],
        ["ls", ["ls", "--json"]],
      ];
      expect(jobs).toHaveLength(16);
      const results = await Promise.all(jobs.map(([, args]) => runKit(args, env)));
      for (const [i, result] of results.entries()) {
        const [what] = jobs[i]!;
        expectCleanOutcome(`round ${round}: ${what}`, result);
        // Only an rm may find nothing to remove; every pull, push, gc and ls succeeds.
        if (!what.startsWith("rm")) expect(result, `round ${round}: ${what}: ${result.stderr}`).toMatchObject({ code: 0 });
        else expect([0, 5], `round ${round}: ${what}: ${result.stderr}`).toContain(result.code);
      }
      const verify = await runKit(["store", "verify", "--json"], env);
      expect(verify, verify.stdout + verify.stderr).toMatchObject({ code: 0 });
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, problems: [] });
    }

    // What the last round pulled and pushed is all there, and readable offline by short name.
    const listed = JSON.parse((await runKit(["ls", "--json"], env)).stdout) as { kits: Array<{ name: string; digest: string }> };
    const names = new Set(listed.kits.map((k) => k.name));
    for (const name of ["kit-1", "kit-2", "kit-3", "kit-4", "kit-5", "fresh-0", "fresh-1", "fresh-2"]) expect(names, name).toContain(name);
    for (const name of ["kit-6", "kit-7"]) expect(names).not.toContain(name);
    for (const i of [1, 4]) expect((await runKit(["pull", `kit-${i}@${pushed[i]}`], env)).code).toBe(0);
    expect((await runKit(["gc"], env)).code).toBe(0);
    expect((await runKit(["store", "verify"], env)).code).toBe(0);
  });
});

function spawnKit(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [KIT_BIN, ...args], { env: { ...process.env, KIT_DEBUG: "", ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Every blob file under blobs/ whose bytes do not hash to its name (kit store verify reports them). */
async function storeVerifies(store: string): Promise<void> {
  const verify = await runKit(["store", "verify", "--json"], envFor(store));
  expect(verify, verify.stdout + verify.stderr).toMatchObject({ code: 0 });
}

describe("a kit process killed with SIGKILL mid-transfer", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ upstream: registry });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it("a pull held on a blob leaves the store as it was, and the next pull completes", async () => {
    const store = path.join(work, "killed-pull-store");
    const env = envFor(store);
    expect((await runKit(["pull", `${proxy.host}/kits/kit-1:1.0.0`], env)).code).toBe(0);
    const before = await treeSnapshot(store);
    // kit-2's manifest and config arrive; its layers are held until the process is killed.
    const held = proxy.addRule({ method: "GET", path: /\/kits\/kit-2\/blobs\//, times: Infinity, delayMs: 20_000 });
    const pull = spawnKit(["pull", `${proxy.host}/kits/kit-2:1.0.0`], env.env);
    await waitFor("the pull to ask for kit-2's blobs", () => held.fired > 0);
    pull.child.kill("SIGKILL");
    expect(await pull.exited).toBe(null);
    held.remove();

    expect(await treeSnapshot(store)).toEqual(before);
    expect((await runKit(["ls", "--json"], env)).stdout).not.toContain("kit-2");
    const again = await runKit(["pull", `${proxy.host}/kits/kit-2:1.0.0`, "--json"], env);
    expect(again, again.stderr).toMatchObject({ code: 0 });
    expect((JSON.parse(again.stdout) as { digest: string }).digest).toBe(pushed[2]);
    expect((await runKit(["pull", `kit-2@${pushed[2]}`], env)).code).toBe(0);
    await storeVerifies(store);
  });

  describe("kit copy of a big blob into the store", () => {
    let image: BuiltSingleImage;
    beforeAll(async () => {
      image = await buildImage({ url: registry.url, repo: "big/app" }, { tag: "v1", seed: "killed-copy", layerSizes: [1024, 96 * 1024 * 1024] });
    });

    it("leaves nothing under a final name, only an ingest temp file gc removes once stale; the next copy completes", async () => {
      const store = path.join(work, "killed-copy-store");
      const env = envFor(store);
      expect((await runKit(["pull", `${registry.host}/kits/kit-3:1.0.0`], env)).code).toBe(0);
      const big = image.layers[1]!;
      const bigFile = path.join(store, "blobs", ...big.digest.split(":"));
      const ingest = path.join(store, "ingest");
      await mkdir(ingest, { recursive: true });
      const partial = async (): Promise<string | undefined> => {
        for (const name of await readdir(ingest)) {
          if (name.startsWith(big.digest.split(":")[1]!) && (await stat(path.join(ingest, name)).catch(() => undefined))!.size > 1024 * 1024) return name;
        }
        return undefined;
      };

      const copy = spawnKit(["copy", `${registry.host}/big/app:v1`, `oci:${store}:big`], env.env);
      let temp: string | undefined;
      await waitFor("the copy to be part-way through the big blob", async () => (temp = await partial().catch(() => undefined)) !== undefined);
      copy.child.kill("SIGKILL");
      const code = await copy.exited;
      expect(code, `the copy finished before it could be killed: ${copy.stderr()}`).toBe(null);

      const tempSize = (await stat(path.join(ingest, temp!))).size;
      expect(tempSize).toBeLessThan(big.size);
      await expect(stat(bigFile)).rejects.toThrow();
      const index = await readFile(path.join(store, "index.json"), "utf8");
      expect(index).not.toContain(image.digest);
      await storeVerifies(store);

      const again = await runKit(["copy", `${registry.host}/big/app:v1`, `oci:${store}:big`], env);
      expect(again, again.stderr).toMatchObject({ code: 0 });
      expect((await stat(bigFile)).size).toBe(big.size);
      const layout = await OciLayout.open(store);
      expect((await layout.resolve("big")).digest).toBe(image.digest);
      await storeVerifies(store);

      // The dead writer's temp file stays until it is an hour old, then gc removes it.
      expect(JSON.parse((await runKit(["gc", "--json"], env)).stdout)).toEqual({ removedBlobs: 0, freedBytes: 0 });
      expect(await readdir(ingest)).toContain(temp);
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      await utimes(path.join(ingest, temp!), twoHoursAgo, twoHoursAgo);
      expect(JSON.parse((await runKit(["gc", "--json"], env)).stdout)).toEqual({ removedBlobs: 0, freedBytes: tempSize });
      expect(await readdir(ingest)).not.toContain(temp);
      await storeVerifies(store);
      expect((await runKit(["pull", `kit-3@${pushed[3]}`], env)).code).toBe(0);
    });
  });
});
