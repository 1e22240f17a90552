/**
 * The commands around the main job: version, completion, help (with its
 * environment page and every command's Examples), init --image; and that
 * `kit --version` still loads none of yaml, zod and undici.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { ENVIRONMENT } from "../../src/cli/environment.js";
import { runKit } from "../support/cli.js";

const root = path.resolve(import.meta.dirname, "../..");
const program = buildProgram();
const commandNames = program.commands.map((c) => c.name());

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "kit-commands-"));
}

function gitCommitOf(dir: string): string {
  try {
    if (execFileSync("git", ["-C", dir, "rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim() !== dir) return "unknown";
    return execFileSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

function bash(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", ["--norc", "--noprofile", "-c", script], (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
  });
}

describe("kit version", () => {
  it("prints version, commit, Node and platform; --json in the documented shape", async () => {
    const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8"));
    const result = await runKit(["version", "--json"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(result.stdout)).toEqual({ version: pkg.version, commit: gitCommitOf(root), node: process.version, platform: process.platform, arch: process.arch });
    const human = await runKit(["version"]);
    expect(human.stdout).toBe(`kit ${pkg.version}\ncommit:   ${gitCommitOf(root)}\nnode:     ${process.version}\nplatform: ${process.platform}/${process.arch}\n`);
  });

  it("builds outside a git checkout, saying the commit is unknown", async () => {
    const copy = await tempDir();
    await cp(path.join(root, "scripts"), path.join(copy, "scripts"), { recursive: true });
    await cp(path.join(root, "bin"), path.join(copy, "bin"), { recursive: true });
    await cp(path.join(root, "dist/cli"), path.join(copy, "dist/cli"), { recursive: true });
    await cp(path.join(root, "dist/oras"), path.join(copy, "dist/oras"), { recursive: true });
    await cp(path.join(root, "dist/kit"), path.join(copy, "dist/kit"), { recursive: true });
    await cp(path.join(root, "package.json"), path.join(copy, "package.json"));
    await symlink(path.join(root, "node_modules"), path.join(copy, "node_modules"));
    execFileSync(process.execPath, [path.join(copy, "scripts/build-cli.mjs")], { cwd: copy, env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(copy) } });
    const out = execFileSync(process.execPath, [path.join(copy, "bin/kit.js"), "version", "--json"], { encoding: "utf8" });
    expect(JSON.parse(out).commit).toBe("unknown");
  });
});

/** The chunks `entry` (a file of dist/bundle) loads through static imports (CommonJS requires at its top), itself included. */
async function staticClosure(entry: string): Promise<string[]> {
  const bundle = path.join(root, "dist/bundle");
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(path.join(bundle, file), "utf8");
    // A static import became `var x=require("./…")` (or a bare require statement); an import() is a require inside `.then(()=>…)`.
    for (const m of text.matchAll(/(?:(?:\bvar |,)[\w$]+=|(?:^|[;}\n]))require\("\.\/(?:chunks\/)?([^"]+)"\)/g)) {
      pending.push(`chunks/${m[1]}`);
    }
  }
  return Promise.all([...seen].map((f) => readFile(path.join(bundle, f), "utf8")));
}

/** Markers of the heavy dependencies, each checked to exist somewhere in the bundle (or a test of its absence proves nothing). */
const MARKERS = { yaml: "YAMLParseError", zod: "ZodError", undici: "UndiciError", "node-tar": "TAR_ENTRY_INVALID" };

async function expectMarkersSomewhere(): Promise<void> {
  const bundle = path.join(root, "dist/bundle");
  const all = (await readdir(path.join(bundle, "chunks"))).map((f) => `chunks/${f}`);
  const texts = await Promise.all(all.map((f) => readFile(path.join(bundle, f), "utf8")));
  for (const [name, marker] of Object.entries(MARKERS)) {
    expect(texts.some((text) => text.includes(marker)), `${name} marker ${marker} is in some chunk`).toBe(true);
  }
}

describe("kit --version stays cheap", () => {
  it("loads no chunk containing yaml, zod, undici or node-tar", async () => {
    const loaded = await staticClosure("main.cjs");
    expect(loaded.length).toBeGreaterThan(1);
    await expectMarkersSomewhere();
    for (const [name, marker] of Object.entries(MARKERS)) {
      expect(loaded.some((text) => text.includes(marker)), `${name} is loaded at start-up`).toBe(false);
    }
  });

  it("kit validate loads neither undici nor node-tar (only kit save, load and bundle load the tar reader)", async () => {
    const main = await readFile(path.join(root, "dist/bundle/main.cjs"), "utf8");
    const validate = /\.then\(\(\)=>[\w$]*\(require\("\.\/(chunks\/validate-[^"]+)"\)/.exec(main)?.[1];
    expect(validate).toBeDefined();
    const loaded = await staticClosure(validate!);
    await expectMarkersSomewhere();
    for (const name of ["undici", "node-tar"] as const) {
      expect(loaded.some((text) => text.includes(MARKERS[name])), `${name} is loaded by kit validate`).toBe(false);
    }
  });
});

describe("kit COMMAND defines only that command", () => {
  // Two CLI runs per command, one command after another: 5 s is too little on a loaded 2-core machine.
  it("yet prints the same help as with the whole program (kit help COMMAND), for every command", { timeout: 30_000 }, async () => {
    for (const name of commandNames.filter((n) => n !== "help")) {
      const [own, whole] = await Promise.all([runKit([name, "--help"]), runKit(["help", name])]);
      expect(own.code, name).toBe(0);
      expect(own.stdout, name).toBe(whole.stdout);
      expect(own.stdout, name).toContain(`Usage: kit ${name} `);
    }
  });
});

describe("kit completion", () => {
  it("bash: completes commands, each command's options and fixed arguments", async () => {
    const script = (await runKit(["completion", "bash"])).stdout;
    const file = path.join(await tempDir(), "kit.bash");
    await writeFile(file, script);
    const complete = (words: string[]) =>
      bash(`source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _kit_completion; printf '%s\\n' "\${COMPREPLY[@]}"`).then((out) =>
        out.split("\n").filter(Boolean),
      );
    expect(await complete(["kit", "p"])).toEqual(["pack", "push", "pull"]);
    expect(await complete(["kit", ""])).toEqual(expect.arrayContaining([...commandNames, "--debug", "--version"]));
    expect(await complete(["kit", "pull", "--"])).toEqual([
      "--output",
      "--force",
      "--allow-unpinned",
      "--referrers",
      "--json",
      "--quiet",
      "--plain-http",
      "--insecure",
      "--timeout",
      "--connect-timeout",
      "--headers-timeout",
      "--idle-timeout",
      "--help",
    ]);
    expect(await complete(["kit", "--debug", "diff", "--e"])).toEqual(["--exit-code"]);
    expect(await complete(["kit", "completion", ""])).toEqual(["bash", "zsh", "fish"]);
    expect(await complete(["kit", "help", "env"])).toEqual(["environment"]);
    // An option's value and a plain argument are left to the shell's file names.
    expect(await complete(["kit", "pull", "-o", ""])).toEqual([]);
  });

  it.each(["zsh", "fish"])("%s: names every command and every option the program has", async (shell) => {
    const result = await runKit(["completion", shell]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    for (const command of program.commands) {
      expect(result.stdout).toContain(shell === "zsh" ? `'${command.name()}:` : `-a ${command.name()} `);
      for (const option of command.options) {
        const long = option.long!;
        expect(result.stdout, `${command.name()} ${long}`).toContain(shell === "zsh" ? long : `-l ${long.slice(2)}`);
      }
    }
  });

  it("refuses an unknown shell with exit 2", async () => {
    const result = await runKit(["completion", "tcsh"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^kit: error: .*tcsh/m);
  });
});

describe("kit help", () => {
  it("exits 2 for a command or topic that does not exist, with one error and one hint line", async () => {
    const result = await runKit(["help", "nonexist"]);
    expect(result).toMatchObject({ code: 2, stdout: "" });
    expect(result.stderr).toBe('kit: error: no command or help topic "nonexist"\nkit: hint: run "kit help" for the commands; topics: environment\n');
  });

  it("prints a command's help like --help", async () => {
    const viaHelp = await runKit(["help", "pull"]);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe((await runKit(["pull", "--help"])).stdout);
  });

  it("has Examples in every command's --help, naming real commands and options", async () => {
    const fresh = buildProgram();
    for (const command of [fresh, ...fresh.commands]) {
      let help = "";
      command.configureOutput({ writeOut: (text) => (help += text) });
      command.outputHelp();
      const section = help.split("\nExamples:\n")[1];
      expect(section, `${command.name()} has Examples`).toBeDefined();
      for (const line of section!.trim().split("\n")) {
        const [, name, rest] = /\bkit (\S+)(.*)$/.exec(line) ?? [];
        const sub = fresh.commands.find((c) => c.name() === name);
        expect(sub, line).toBeDefined();
        for (const word of rest!.split(/\s+/).filter((w) => /^--?[a-z]/.test(w))) {
          expect([...sub!.options, ...fresh.options].some((o) => o.long === word || o.short === word), `${line}: ${word}`).toBe(true);
        }
      }
    }
  });

  it("has help with Examples for every command through the built CLI", async () => {
    const result = await runKit(["diff", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\nExamples:\n {2}kit diff /);
  });

  it("lists every environment variable the sources read, in `kit help environment` and the README", async () => {
    const page = await runKit(["help", "environment"]);
    expect(page.code).toBe(0);
    const readme = await readFile(path.join(root, "README.md"), "utf8");
    const read = new Set<string>();
    const bin = (await readdir(path.join(root, "bin"))).filter((f) => /\.c?js$/.test(f)).map((f) => path.join(root, "bin", f));
    for (const file of [...(await sourceFiles(path.join(root, "src"))), ...bin]) {
      const text = await readFile(file, "utf8");
      for (const m of text.matchAll(/\benv(?:\.|\[")([A-Z][A-Z0-9_]*)|_ENV = "([A-Z][A-Z0-9_]*)"/g)) read.add((m[1] ?? m[2])!);
    }
    expect(read).toContain("KIT_STORE");
    expect(read).toContain("SOURCE_DATE_EPOCH");
    expect(read).toContain("NODE_DISABLE_COMPILE_CACHE");
    const listed = ENVIRONMENT.map((e) => e.name);
    for (const name of read) expect(listed, `${name} is read by src/ but not listed in src/cli/environment.ts`).toContain(name);
    for (const name of listed) {
      expect(page.stdout).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
      expect(readme, `README lists ${name}`).toContain(`\`${name}\``);
    }
  });
});

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".ts")).map((e) => path.join(e.parentPath, e.name));
}

describe("kit init --image", () => {
  it("writes the image into kit.yaml, which validates", async () => {
    const dir = path.join(await tempDir(), "my-kit");
    const image = `ghcr.io/org/agent-base:2.1@sha256:${"d".repeat(64)}`;
    const result = await runKit(["init", dir, "--image", image]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const yaml = await readFile(path.join(dir, "kit.yaml"), "utf8");
    expect(yaml).toMatch(new RegExp(`^image: ${image.replace(/[.]/g, "\\.")}$`, "m"));
    expect(yaml).not.toContain("placeholder");
    expect((await runKit(["validate", dir])).code).toBe(0);
  });

  it("says the default image is a placeholder", async () => {
    const dir = await tempDir();
    await runKit(["init", dir, "--name", "x"]);
    expect(await readFile(path.join(dir, "kit.yaml"), "utf8")).toMatch(/placeholder.*--image/);
  });

  it.each([
    ["no tag or digest", "ghcr.io/org/agent-base", /needs a tag or a digest/],
    ["not a reference", "Not An Image", /invalid --image "Not An Image"/],
  ])("refuses an image with %s (exit 2) and writes nothing", async (_what, image, message) => {
    const dir = await tempDir();
    const result = await runKit(["init", dir, "--name", "x", "--image", image]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(existsSync(path.join(dir, "kit.yaml"))).toBe(false);
  });
});
