/**
 * What keeps the hot commands' start-up small, checked by what the process
 * loads and writes (never by timing): a pull the local store serves loads
 * neither the registry client nor zod nor YAML, yet keeps every check; and
 * on every Node, bin/code-cache.cjs keeps V8's compiled code in a private
 * directory, falling back to compiling from source whenever the data is
 * missing, rejected or not to be trusted. Runs the built CLI.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildKitArtifact, type KitArtifact } from "../../src/kit/artifact.js";
import { parseKitManifest } from "../../src/kit/load.js";
import { KitStore } from "../../src/kit/store.js";
import { KIT_BIN, runKit } from "../support/cli.js";
import { buildImage } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const RECORD_LOADS = pathToFileURL(fileURLToPath(new URL("../support/record-loads.mjs", import.meta.url))).href;
const run = promisify(execFile);
const NODE_MAJOR = Number(process.versions.node.split(".")[0]);
const EXAMPLE = fileURLToPath(new URL("../../examples/famiglia", import.meta.url));
const IMAGE = `ghcr.io/kit/base:latest@sha256:${"b".repeat(64)}`;
/** Markers of the heavy dependencies (as in commands.test.ts). */
const MARKERS = { undici: "UndiciError", yaml: "YAMLParseError", zod: "ZodError" } as const;
type Library = keyof typeof MARKERS;

let work: string;
let registry: RunningRegistry;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-startup-"));
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

function artifact(name: string, pinned: boolean): KitArtifact {
  const yaml = Buffer.from(`name: ${name}\nversion: "1.0.0"\ndescription: "the ${name} kit"\nimage: ghcr.io/kit/base:latest\nexposes: [{port: 8080}]\n`);
  return buildKitArtifact({ manifest: parseKitManifest(yaml), kitYaml: yaml, readme: Buffer.from(`# ${name}\n`), ...(pinned ? { pinnedImage: IMAGE } : {}) });
}

/** Runs kit with $KIT_STORE set and returns its result and the heavy libraries among the bundle files it loaded. */
async function kitLoading(args: string[], env: NodeJS.ProcessEnv) {
  const log = path.join(await mkdtemp(path.join(work, "loads-")), "loads.txt");
  const result = await runKit(args, { env: { DOCKER_CONFIG: path.join(work, "no-docker"), ...env, KIT_LOAD_LOG: log, NODE_OPTIONS: `--import=${RECORD_LOADS}` } });
  const files = [...new Set((await readFile(log, "utf8")).split("\n").filter((url) => url.includes("/dist/bundle/")))];
  expect(files.some((url) => url.endsWith("/main.cjs")), "the log records the bundle's loads").toBe(true);
  const texts = await Promise.all(files.map((url) => readFile(fileURLToPath(url), "utf8")));
  const libraries = (Object.keys(MARKERS) as Library[]).filter((name) => texts.some((text) => text.includes(MARKERS[name])));
  const builtins = new Set((await readFile(log, "utf8")).split("\n").filter((line) => line.startsWith("node:")));
  expect(builtins.has("node:fs"), "the log records Node's own modules").toBe(true);
  return { ...result, libraries, builtins };
}

describe("a pull the local store serves", () => {
  let storePath: string;
  let pinned: KitArtifact;
  let unpinned: KitArtifact;
  const recordOf = (kit: KitArtifact) => path.join(storePath, "kit-validated/sha256", kit.manifest.descriptor.digest.slice("sha256:".length));

  beforeEach(async () => {
    storePath = await mkdtemp(path.join(work, "store-"));
    pinned = artifact("famiglia", true);
    unpinned = artifact("openclaw", false);
    const store = await KitStore.open(storePath);
    await store.add(pinned, pinned.kit, ["ghcr.io/org/famiglia:1.0.0"]);
    await store.add(unpinned, unpinned.kit, ["ghcr.io/org/openclaw:1.0.0"]);
  });

  it("loads neither undici nor zod nor YAML, and prints what a full check gives", async () => {
    const result = await kitLoading(["pull", `famiglia@${pinned.manifest.descriptor.digest}`, "--json"], { KIT_STORE: storePath });
    expect(result.code, result.stderr).toBe(0);
    expect(result.libraries).toEqual([]);
    expect(JSON.parse(result.stdout).kit).toEqual(pinned.kit);
  });

  it("checks in full when the record's kit is not the verified config blob, then records the truth", async () => {
    const record = JSON.parse(await readFile(recordOf(pinned), "utf8"));
    expect(record.kit).toEqual(pinned.kit);
    await writeFile(recordOf(pinned), JSON.stringify({ ...record, kit: { ...record.kit, description: "not what was pushed" } }));
    const ref = `famiglia@${pinned.manifest.descriptor.digest}`;
    const full = await kitLoading(["pull", ref, "--json"], { KIT_STORE: storePath });
    expect(full.code, full.stderr).toBe(0);
    expect(full.libraries).toEqual(expect.arrayContaining(["yaml", "zod"]));
    expect(JSON.parse(full.stdout).kit.description).toBe("the famiglia kit");
    expect(JSON.parse(await readFile(recordOf(pinned), "utf8")).kit).toEqual(pinned.kit);
    expect((await kitLoading(["pull", ref], { KIT_STORE: storePath })).libraries).toEqual([]);
  });

  it("checks in full a kit recorded under other rules, or with no kit in its record", async () => {
    const record = JSON.parse(await readFile(recordOf(pinned), "utf8"));
    for (const stale of [{ ...record, checks: 0 }, { digest: record.digest, name: record.name, version: record.version, image: record.image }]) {
      await writeFile(recordOf(pinned), JSON.stringify(stale));
      const result = await kitLoading(["pull", `famiglia@${pinned.manifest.descriptor.digest}`], { KIT_STORE: storePath });
      expect(result.code, result.stderr).toBe(0);
      expect(result.libraries).toEqual(expect.arrayContaining(["yaml", "zod"]));
    }
  });

  it("still refuses an unpinned kit without --allow-unpinned", async () => {
    const ref = `openclaw@${unpinned.manifest.descriptor.digest}`;
    const refused = await kitLoading(["pull", ref], { KIT_STORE: storePath });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/the kit is unpinned/);
    expect(refused.libraries, "refused on the record's path, not by the full check").toEqual([]);
    const allowed = await kitLoading(["pull", ref, "--allow-unpinned"], { KIT_STORE: storePath });
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it("still verifies every blob: a changed kit.yaml is refused", async () => {
    const blob = path.join(storePath, "blobs/sha256", pinned.layers[0].descriptor.digest.slice("sha256:".length));
    const bytes = await readFile(blob);
    bytes[0] = bytes[0]! ^ 1;
    await writeFile(blob, bytes);
    const result = await runKit(["pull", `famiglia@${pinned.manifest.descriptor.digest}`], { env: { KIT_STORE: storePath } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/digest/i);
  });
});

describe("a pull from a registry", () => {
  it("checks in full (zod and YAML loaded) over node:http, without undici, and the store's later reads need neither", async () => {
    await buildImage({ url: registry.url, repo: "base/agent" }, { tag: "latest", seed: "startup-base" });
    const dir = path.join(work, "kit");
    await mkdir(dir);
    await writeFile(path.join(dir, "kit.yaml"), `name: startup\nversion: "1.0.0"\nimage: ${registry.host}/base/agent:latest\n`);
    await writeFile(path.join(dir, "README.md"), "# startup\n");
    const pushed = await runKit(["push", `${registry.host}/kits/startup:1.0.0`, dir, "--json"], { env: { KIT_STORE: path.join(work, "push-store") } });
    expect(pushed.code, pushed.stderr).toBe(0);
    const { digest } = JSON.parse(pushed.stdout);
    const store = path.join(work, "pull-store");
    const fetched = await kitLoading(["pull", `${registry.host}/kits/startup@${digest}`], { KIT_STORE: store });
    expect(fetched.code, fetched.stderr).toBe(0);
    // A direct connection goes over node:http; undici is for proxies only (test/oras/remote-proxy*.test.ts).
    expect(fetched.libraries.sort()).toEqual(["yaml", "zod"]);
    expect(fetched.builtins.has("node:http"), "the pull went over node:http").toBe(true);
    // Plain HTTP loads no TLS, and no credential helper runs here; node:v8 only where bin/kit.js turns Maglev off.
    // node:fs/promises costs ~1.7 ms to load; kit's file calls go through src/oras/fs-calls.ts instead.
    expect([...fetched.builtins].filter((m) => /^node:(http2|https|tls|child_process|fs\/promises)$/.test(m))).toEqual([]);
    expect(fetched.builtins.has("node:v8")).toBe(NODE_MAJOR >= 22);
    const stored = await kitLoading(["pull", `startup@${digest}`], { KIT_STORE: store });
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.libraries).toEqual([]);
    expect(stored.builtins.has("node:fs/promises")).toBe(false);
  });
});

describe("V8's optimising tiers", () => {
  it("compile nothing with Maglev, whose background jobs can keep process.exit() from ever returning (nodejs/node#54918)", async () => {
    const cacheHome = await mkdtemp(path.join(work, "maglev-"));
    // --trace-opt names the tier of every function V8 optimises; without bin/kit.js's flag, Node 24 names Maglev ~20 times here.
    const { stdout } = await run(process.execPath, ["--trace-opt", KIT_BIN, "validate", EXAMPLE], {
      env: { ...process.env, XDG_CACHE_HOME: cacheHome, KIT_DEBUG: "" },
    });
    expect(stdout).toContain("kit.yaml: valid");
    expect(stdout.split("\n").filter((line) => /maglev/i.test(line))).toEqual([]);
  });
});

describe("V8's code cache", () => {
  // bin/code-cache.cjs, on every Node (Node's own compile cache is not turned on: see bin/kit.js).
  let cacheHome: string;
  const env = () => ({ XDG_CACHE_HOME: cacheHome, NODE_COMPILE_CACHE: "", NODE_DISABLE_COMPILE_CACHE: "" });
  const root = () => path.join(cacheHome, "aegis/kit-v8");

  /** Every cached data file under the cache root, with its bytes. */
  async function cached(): Promise<Map<string, Buffer>> {
    const files = new Map<string, Buffer>();
    const entries = await readdir(root(), { recursive: true }).catch(() => [] as string[]);
    for (const entry of entries) if (entry.endsWith(".v8")) files.set(entry, await readFile(path.join(root(), entry)));
    return files;
  }

  beforeEach(async () => {
    cacheHome = await mkdtemp(path.join(work, "cache-"));
  });

  it("is written once per command into a private directory, then used as it is", async () => {
    const first = await runKit(["validate", EXAMPLE], { env: env() });
    expect(first).toMatchObject({ code: 0, stderr: "" });
    const written = await cached();
    expect([...written.keys()].some((f) => /^v\d+\.\d+\.\d+-[^/]+\/validate\/chunks\.v8$/.test(f)), [...written.keys()].join(", ")).toBe(true);
    expect((await stat(root())).mode & 0o777).toBe(0o700);
    // One file per command: a JSON line naming each chunk's span of the bytes after it.
    const pack = [...written.entries()].find(([f]) => f.endsWith("/validate/chunks.v8"))![1];
    const newline = pack.indexOf(10);
    const { files } = JSON.parse(pack.toString("utf8", 0, newline)) as { files: Record<string, [number, number]> };
    expect(Object.keys(files)).toContain("main.cjs");
    expect(Object.keys(files).length).toBeGreaterThan(5);
    const end = Math.max(...Object.values(files).map(([offset, length]) => offset + length));
    expect(newline + 1 + end).toBe(pack.length);
    const again = await runKit(["validate", EXAMPLE], { env: env() });
    expect(again).toEqual(first);
    // Accepted by V8, so not written again.
    expect(await cached()).toEqual(written);
    const version = await runKit(["--version"], { env: env() });
    expect(version.code).toBe(0);
    expect([...(await cached()).keys()].some((f) => f.includes("/_/chunks.v8"))).toBe(true);
  });

  it("a later run that loads more chunks writes the data of every chunk it loaded, so shared chunks cover both paths", async () => {
    // A store pull loads fewer chunks than a registry pull of the same command: run it first, then the registry one.
    await buildImage({ url: registry.url, repo: "base/cache" }, { tag: "latest", seed: "cache-base" });
    const dir = path.join(await mkdtemp(path.join(work, "cache-kit-")), "kit");
    await mkdir(dir);
    await writeFile(path.join(dir, "kit.yaml"), `name: cached\nversion: "1.0.0"\nimage: ${registry.host}/base/cache:latest\n`);
    await writeFile(path.join(dir, "README.md"), "# cached\n");
    const elsewhere = { XDG_CACHE_HOME: path.join(cacheHome, "elsewhere") };
    const pushed = await runKit(["push", `${registry.host}/kits/cached:1.0.0`, dir, "--json"], { env: { ...elsewhere, KIT_STORE: path.join(dir, "..", "push-store") } });
    expect(pushed.code, pushed.stderr).toBe(0);
    const { digest } = JSON.parse(pushed.stdout);
    const store = path.join(dir, "..", "store");
    expect((await runKit(["pull", `${registry.host}/kits/cached@${digest}`], { env: { ...elsewhere, KIT_STORE: store } })).code).toBe(0);

    const packOf = async () => {
      const [file, bytes] = [...(await cached()).entries()].find(([f]) => f.endsWith("/pull/chunks.v8"))!;
      const newline = bytes.indexOf(10);
      const { files } = JSON.parse(bytes.toString("utf8", 0, newline)) as { files: Record<string, [number, number]> };
      const data = new Map(Object.entries(files).map(([name, [offset, length]]) => [name, bytes.subarray(newline + 1 + offset, newline + 1 + offset + length)]));
      return { file, data };
    };
    expect((await runKit(["pull", `cached@${digest}`], { env: { ...env(), KIT_STORE: store } })).code).toBe(0);
    const narrow = await packOf();
    const wide = await runKit(["pull", `${registry.host}/kits/cached@${digest}`], { env: { ...env(), KIT_STORE: path.join(dir, "..", "cold-store") } });
    expect(wide.code, wide.stderr).toBe(0);
    const both = await packOf();
    expect(both.data.size).toBeGreaterThan(narrow.data.size);
    for (const name of narrow.data.keys()) expect(both.data.has(name), name).toBe(true);
    // Written anew after the registry pull ran, so holding the functions it compiled too.
    expect([...narrow.data.keys()].some((name) => !both.data.get(name)!.equals(narrow.data.get(name)!))).toBe(true);
  });

  it("data V8 rejects (garbage) only means compiling from source, and is replaced", async () => {
    const first = await runKit(["validate", EXAMPLE], { env: env() });
    expect(first.code).toBe(0);
    const written = await cached();
    expect(written.size).toBeGreaterThan(0);
    for (const [file, bytes] of written) await writeFile(path.join(root(), file), Buffer.alloc(bytes.length, 0x5a));
    const again = await runKit(["validate", EXAMPLE], { env: env() });
    expect(again).toEqual(first);
    for (const [file, bytes] of await cached()) expect(bytes.equals(Buffer.alloc(bytes.length, 0x5a)), file).toBe(false);
  });

  it("a cache directory others may write to is neither read nor written; NODE_DISABLE_COMPILE_CACHE=1 and --debug (KIT_DEBUG=1) use none", async () => {
    await mkdir(root(), { recursive: true });
    await chmod(root(), 0o777);
    const shared = await runKit(["validate", EXAMPLE], { env: env() });
    expect(shared.code).toBe(0);
    expect((await cached()).size).toBe(0);
    await chmod(root(), 0o700);
    const disabled = await runKit(["validate", EXAMPLE], { env: { ...env(), NODE_DISABLE_COMPILE_CACHE: "1" } });
    expect(disabled).toEqual(shared);
    const debug = await runKit(["validate", EXAMPLE], { env: { ...env(), KIT_DEBUG: "1" } });
    expect(debug.code).toBe(0);
    expect((await cached()).size).toBe(0);
    // The same directory, once private, is used.
    await runKit(["validate", EXAMPLE], { env: env() });
    expect((await cached()).size).toBeGreaterThan(0);
  });
});
