/**
 * Several processes writing one layout's index.json at once: every tag from
 * every process must survive, and the file must stay valid JSON. The children
 * run the library transpiled from src/ into a temp dir, so this test does not
 * depend on a fresh `dist/`.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { OciLayout } from "../../src/oras/layout/store.js";

const SRC = fileURLToPath(new URL("../../src/oras/", import.meta.url));
const MODULES = ["errors.ts", "descriptor.ts", "digest.ts", "json.ts", "limits.ts", "manifest.ts", "reference.ts", "target.ts", "verify.ts", "fs.ts", "fs-calls.ts", "lock.ts", "predecessors.ts", "layout", "copy"];
const REF_NAME = "org.opencontainers.image.ref.name";

let work: string;
let libDir: string;

async function transpileTree(from: string, to: string): Promise<void> {
  for (const name of MODULES) {
    const path = join(from, name);
    const files = name.endsWith(".ts") ? [path] : (await readdir(path)).filter((f) => f.endsWith(".ts")).map((f) => join(path, f));
    for (const file of files) {
      const out = ts.transpileModule(await readFile(file, "utf8"), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      }).outputText;
      const dest = join(to, relative(from, file)).replace(/\.ts$/, ".js");
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, out);
    }
  }
  await writeFile(join(to, "package.json"), '{"type":"module"}');
}

const CHILD = `
import { OciLayout } from "./layout/store.js";
import { FileLock } from "./lock.js";
const [dir, prefix, count, mode, descJson] = process.argv.slice(2);
const desc = JSON.parse(descJson);
const layout = await OciLayout.open(dir);
if (mode === "die-holding-lock") {
  await FileLock.acquire(dir + "/index.json.lock");
  process.exit(0);
} else if (mode === "batch") {
  await layout.batch(async () => { for (let i = 0; i < Number(count); i++) await layout.tag(desc, prefix + i); });
} else {
  for (let i = 0; i < Number(count); i++) await layout.tag(desc, prefix + i);
}
`;

function runChild(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(libDir, "child.mjs"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "layout-procs-"));
  libDir = join(work, "lib");
  await transpileTree(SRC, libDir);
  await writeFile(join(libDir, "child.mjs"), CHILD);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("index.json under concurrent writers in several processes", () => {
  it("keeps every tag from every process", async () => {
    const dir = join(work, "layout");
    const layout = await OciLayout.open(dir, { create: true });
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] }));
    const desc = { mediaType: MediaType.ImageIndex, digest: digestOf(manifest), size: manifest.length };
    await layout.push(desc, manifest);

    const perChild = 60;
    const jobs = [
      ...["a", "b", "c", "d"].map((p) => [dir, `${p}-`, String(perChild), "each", JSON.stringify(desc)]),
      ...["e", "f"].map((p) => [dir, `${p}-`, String(perChild * 5), "batch", JSON.stringify(desc)]),
    ];
    const results = await Promise.all(jobs.map((args) => runChild(args)));
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });

    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: Array<{ annotations?: Record<string, string> }> };
    const names = index.manifests.map((m) => m.annotations?.[REF_NAME]).filter((n) => n !== undefined);
    const expected = jobs.flatMap(([, prefix, count]) => Array.from({ length: Number(count) }, (_, i) => `${prefix}${i}`));
    expect(new Set(names)).toEqual(new Set(expected));
    expect(names).toHaveLength(expected.length);
    // nothing left behind: no lock, no temp files
    expect((await readdir(dir)).sort()).toEqual(["blobs", "index.json", "ingest", "oci-layout"]);
    // and the parent's open instance sees them
    expect((await layout.resolve("f-299")).digest).toBe(desc.digest);
  });

  it("takes over the lock of a process that died holding it", async () => {
    const dir = join(work, "abandoned");
    const layout = await OciLayout.open(dir, { create: true });
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] }));
    const desc = { mediaType: MediaType.ImageIndex, digest: digestOf(manifest), size: manifest.length };
    await layout.push(desc, manifest);
    const died = await runChild([dir, "", "0", "die-holding-lock", JSON.stringify(desc)]);
    expect(died, died.stderr).toMatchObject({ code: 0 });
    expect(await readdir(dir)).toContain("index.json.lock");
    // Stale by age only after an hour: what breaks it here is that its pid is gone.
    const again = await OciLayout.open(dir, { lock: { staleMs: 3_600_000 } });
    await again.tag(desc, "after-crash");
    expect((await layout.resolve("after-crash")).digest).toBe(desc.digest);
    expect(await readdir(dir)).not.toContain("index.json.lock");
  });
});
