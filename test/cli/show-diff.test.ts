/**
 * kit show and kit diff against the real registry, OCI layouts, the local
 * store and kit directories, as the built CLI. Neither command writes
 * anything: the store stays absent when it was.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KIT_BIN, runKit } from "../support/cli.js";
import { buildImage } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

let registry: RunningRegistry;
let work: string;
let baseDigest: string;
/** Pushed 1.0.0 and 1.1.0 of famiglia, recorded in `store`. */
let store: string;
let v1: { dir: string; digest: string; image: string };
let v2: { dir: string; digest: string; image: string };

const README = "# famiglia\n\nTeam agents.\n";

function kitYaml(version: string, image: string, extra = ""): string {
  return `# Famiglia: team agents (a comment that must survive kit show)
name: famiglia
version: "${version}"
image: ${image} # the base image

secrets:
  required:
    - name: API_KEY
${extra}exposes:
  - port: 8080
resources:
  memory_mb: 1024
  max_memory_mb: ${version === "1.0.0" ? 4096 : 2048}
egress:
  - api.example.com
${version === "1.0.0" ? "" : "  - uploads.example.net\n"}`;
}

async function temp(prefix: string): Promise<string> {
  return mkdtemp(path.join(work, `${prefix}-`));
}

async function kitDir(text: string, readme = README): Promise<string> {
  const dir = await temp("kit");
  await writeFile(path.join(dir, "kit.yaml"), text);
  await writeFile(path.join(dir, "README.md"), readme);
  return dir;
}

function env(storePath: string) {
  return { KIT_STORE: storePath, DOCKER_CONFIG: path.join(work, "no-docker-config") };
}

async function push(ref: string, dir: string, storePath = store, args: string[] = []): Promise<{ digest: string; image: string }> {
  const result = await runKit(["push", ref, dir, "--json", ...args], { env: env(storePath) });
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout);
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), so stdout.isTTY is true. */
function runOnTerminal(args: string[], extraEnv: NodeJS.ProcessEnv): Promise<string> {
  const command = [process.execPath, KIT_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  return new Promise((resolve, reject) => {
    execFile("script", ["-qec", command, "/dev/null"], { env: { ...process.env, KIT_DEBUG: "", ...extraEnv } }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-show-diff-"));
  registry = await startRegistry();
  baseDigest = (await buildImage({ url: registry.url, repo: "base/agent" }, { tag: "latest", seed: "show-diff-base" })).digest;
  store = await temp("store");
  const image = `${registry.host}/base/agent:latest`;
  const dir1 = await kitDir(kitYaml("1.0.0", image));
  const dir2 = await kitDir(kitYaml("1.1.0", image, "    - name: DB_URL\n"));
  v1 = { dir: dir1, ...(await push(`${registry.host}/kits/famiglia:1.0.0`, dir1)) };
  v2 = { dir: dir2, ...(await push(`${registry.host}/kits/famiglia:1.1.0`, dir2)) };
});

afterAll(async () => {
  await registry?.stop();
});

describe("kit show", () => {
  it("prints the published kit.yaml with the pinned image and every comment, and writes no store", async () => {
    expect(v1.image).toBe(`${registry.host}/base/agent:latest@${baseDigest}`);
    const noStore = path.join(work, "absent-store");
    const result = await runKit(["show", `${registry.host}/kits/famiglia:1.0.0`], { env: env(noStore) });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toBe(kitYaml("1.0.0", v1.image));
    expect(existsSync(noStore)).toBe(false);
  });

  it("prints README.md exactly with --readme", async () => {
    const result = await runKit(["show", `${registry.host}/kits/famiglia@${v1.digest}`, "--readme"], { env: env(path.join(work, "absent-store")) });
    expect(result).toMatchObject({ code: 0, stdout: README });
  });

  it("reads the local store by short name (offline) and an oci: layout", async () => {
    const layout = await temp("layout");
    expect((await runKit(["pack", v2.dir, "--output", `oci:${layout}`], { env: env(store) })).code).toBe(0);
    for (const ref of ["famiglia:1.1.0", `famiglia@${v2.digest}`, `oci:${layout}:1.1.0`]) {
      const result = await runKit(["show", ref], { env: env(store) });
      expect(result.stderr, ref).toBe("");
      expect(result.stdout, ref).toBe(kitYaml("1.1.0", v2.image, "    - name: DB_URL\n"));
    }
  });

  it("says a short name is not in the store (exit 5) without creating one", async () => {
    const noStore = path.join(work, "absent-store-2");
    const result = await runKit(["show", "famiglia:1.0.0"], { env: env(noStore) });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^kit: error: kit famiglia:1\.0\.0 is not in the local store/m);
    expect(existsSync(noStore)).toBe(false);
  });

  it("shows an unpinned kit's kit.yaml as published", async () => {
    const text = kitYaml("3.0.0", `${registry.host}/base/missing:1.0`);
    const dir = await kitDir(text);
    await push(`${registry.host}/kits/unpinned:3.0.0`, dir, await temp("store"), ["--no-pin"]);
    const result = await runKit(["show", `${registry.host}/kits/unpinned:3.0.0`], { env: env(await temp("store")) });
    expect(result).toMatchObject({ code: 0, stdout: text });
  });

  it("gives a pipe the exact bytes and a terminal visible escapes for control characters", async () => {
    const hostile = "# title\n\u001b]0;owned\u0007\u001b[2Jcleared\rover\u202eevil\n";
    const dir = await kitDir(kitYaml("4.0.0", `${registry.host}/base/agent:latest`), hostile);
    await push(`${registry.host}/kits/hostile:4.0.0`, dir, await temp("store"));
    const ref = `${registry.host}/kits/hostile:4.0.0`;
    const piped = await runKit(["show", ref, "--readme"], { env: env(await temp("store")) });
    expect(piped.stdout).toBe(hostile);
    const terminal = await runOnTerminal(["show", ref, "--readme"], env(await temp("store")));
    expect(terminal).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(terminal).toContain("\\u001b]0;owned\\u0007\\u001b[2Jcleared\\rover\\u202eevil");
  });
});

describe("kit diff", () => {
  const expectedLines = [
    /^breaking {2}\+ secrets\.required DB_URL {2}\(.+\)$/,
    /^breaking {2}~ resources\.max_memory_mb: 4096 -> 2048 {2}\(.+\)$/,
    /^review {4}\+ egress uploads\.example\.net {2}\(.+\)$/,
  ];

  it("between two registry references: one marked line per change, exit 0, and nothing stored", async () => {
    const noStore = path.join(work, "absent-store-3");
    const result = await runKit(["diff", `${registry.host}/kits/famiglia:1.0.0`, `${registry.host}/kits/famiglia:1.1.0`], { env: env(noStore) });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ {8} {2}~ version: 1\.0\.0 -> 1\.1\.0$/);
    expect(lines.slice(1, 4)).toHaveLength(3);
    lines.slice(1, 4).forEach((line, i) => expect(line).toMatch(expectedLines[i]!));
    expect(lines[4]).toBe("4 changes: 2 breaking, 1 for review");
    expect(existsSync(noStore)).toBe(false);
  });

  it("--json: both sides and the changes, in the documented shape", async () => {
    const result = await runKit(["diff", `famiglia:1.0.0`, `${registry.host}/kits/famiglia:1.1.0`, "--json"], { env: env(store) });
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.a).toEqual({
      argument: "famiglia:1.0.0",
      source: "store",
      reference: `${registry.host}/kits/famiglia@${v1.digest}`,
      file: null,
      name: "famiglia",
      version: "1.0.0",
      image: v1.image,
    });
    expect(doc.b).toMatchObject({ source: "registry", reference: `${registry.host}/kits/famiglia@${v2.digest}`, file: null, version: "1.1.0" });
    expect(doc).toMatchObject({ identical: false, breaking: true, review: true });
    expect(doc.changes).toEqual([
      { path: "version", change: "changed", from: "1.0.0", to: "1.1.0", breaking: false, review: false },
      { path: "secrets.required", change: "added", item: "DB_URL", breaking: true, review: false, reason: expect.any(String) },
      { path: "resources.max_memory_mb", change: "changed", from: 4096, to: 2048, breaking: true, review: false, reason: expect.any(String) },
      { path: "egress", change: "added", item: "uploads.example.net", breaking: false, review: true, reason: expect.any(String) },
    ]);
  });

  it("between a published kit and a directory or kit.yaml: the same changes, no image change", async () => {
    for (const b of [v2.dir, path.join(v2.dir, "kit.yaml")]) {
      const result = await runKit(["diff", `${registry.host}/kits/famiglia:1.0.0`, b, "--json"], { env: env(store) });
      const doc = JSON.parse(result.stdout);
      expect(doc.b).toMatchObject({ source: "directory", reference: null, file: path.join(v2.dir, "kit.yaml"), image: `${registry.host}/base/agent:latest` });
      expect(doc.changes.map((c: { path: string }) => c.path)).toEqual(["version", "secrets.required", "resources.max_memory_mb", "egress"]);
    }
  });

  it("finds a layout, the registry and the store identical for one kit; --exit-code exits 1 only on differences", async () => {
    const layout = await temp("layout");
    await runKit(["pack", v1.dir, "--output", `oci:${layout}`], { env: env(store) });
    const same = await runKit(["diff", `oci:${layout}:1.0.0`, `famiglia@${v1.digest}`, "--exit-code"], { env: env(store) });
    expect(same).toMatchObject({ code: 0, stdout: "no differences\n", stderr: "" });
    const differs = await runKit(["diff", `oci:${layout}:1.0.0`, "famiglia:1.1.0", "--exit-code"], { env: env(store) });
    expect(differs.code).toBe(1);
    expect(differs.stderr).toBe("");
    expect(differs.stdout).toContain("4 changes");
  });

  it("says when the pinned digest changed under the same image tag", async () => {
    const own = await temp("store");
    const rebuilt = await buildImage({ url: registry.url, repo: "base/moving" }, { tag: "1", seed: "before" });
    const dir = await kitDir(kitYaml("1.0.0", `${registry.host}/base/moving:1`));
    await push(`${registry.host}/kits/moving:before`, dir, own);
    const after = await buildImage({ url: registry.url, repo: "base/moving" }, { tag: "1", seed: "after" });
    expect(after.digest).not.toBe(rebuilt.digest);
    await push(`${registry.host}/kits/moving:after`, dir, own);
    const result = await runKit(["diff", `${registry.host}/kits/moving:before`, `${registry.host}/kits/moving:after`], { env: env(own) });
    expect(result.stdout).toBe(
      `          ~ image: ${registry.host}/base/moving:1@${rebuilt.digest} -> ${registry.host}/base/moving:1@${after.digest} [pinned digest changed]\n1 change: 0 breaking, 0 for review\n`,
    );
    const json = JSON.parse((await runKit(["diff", `${registry.host}/kits/moving:before`, `${registry.host}/kits/moving:after`, "--json"], { env: env(own) })).stdout);
    expect(json.changes).toEqual([expect.objectContaining({ path: "image", digestChanged: true, breaking: false, review: false })]);
  });

  it("takes a name that exists on disk as the directory, and NAME:TAG as the stored kit", async () => {
    const cwd = await temp("cwd");
    await mkdir(path.join(cwd, "famiglia"));
    await writeFile(path.join(cwd, "famiglia", "kit.yaml"), kitYaml("1.1.0", `${registry.host}/base/agent:latest`));
    const result = await runKit(["diff", "famiglia:1.0.0", "famiglia", "--json"], { cwd, env: env(store) });
    expect(result.stderr).toBe("");
    const doc = JSON.parse(result.stdout);
    expect(doc.a).toMatchObject({ source: "store", reference: `${registry.host}/kits/famiglia@${v1.digest}` });
    expect(doc.b).toMatchObject({ source: "directory", file: path.join("famiglia", "kit.yaml") });
    expect(doc.changes.map((c: { path: string }) => c.path)).toEqual(["version", "resources.max_memory_mb", "egress"]);
    // Without the directory, the same name is the store's.
    const elsewhere = await runKit(["diff", "famiglia:1.0.0", "famiglia", "--json"], { cwd: await temp("cwd"), env: env(store) });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/ambiguous/);
  });

  it("reports an invalid directory (exit 3) and a missing kit (exit 5) like the other commands", async () => {
    const broken = await kitDir("name: famiglia\n");
    expect((await runKit(["diff", broken, v1.dir], { env: env(store) })).code).toBe(3);
    expect((await runKit(["diff", `${registry.host}/kits/nosuch:1.0.0`, v1.dir], { env: env(store) })).code).toBe(5);
  });
});
