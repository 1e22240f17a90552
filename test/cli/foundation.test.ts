import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runKit } from "../support/cli.js";

const root = path.resolve(import.meta.dirname, "../..");

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "kit-cli-"));
}

describe("kit validate", () => {
  it.each(["famiglia", "openclaw"])("accepts examples/%s with exit 0", async (name) => {
    const result = await runKit(["validate", path.join(root, "examples", name)]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain("valid");
  });

  it("defaults to the current directory", async () => {
    const result = await runKit(["validate"], { cwd: path.join(root, "examples/famiglia") });
    expect(result.code).toBe(0);
  });

  it("names file, line, column and field of a broken kit and exits 3", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "kit.yaml"), 'name: famiglia\nversion: "1.0.0"\nimage: ghcr.io/kit/base:1\nresources:\n  memory_mb: 8192\n  max_memory_mb: 4096\n');
    await writeFile(path.join(dir, "README.md"), "# famiglia\n");
    const result = await runKit(["validate", dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`${path.join(dir, "kit.yaml")}:5:14: resources.memory_mb: must be <= max_memory_mb (4096)`);
    expect(result.stderr).toMatch(/^kit: error: .* is not a valid kit \(1 problem\)$/m);
    expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it("prints one JSON document with --json and keeps exit 3", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "kit.yaml"), "name: famiglia\nversion: v1\nimage: a:1\nsecret: {}\n");
    await writeFile(path.join(dir, "README.md"), "# famiglia\n");
    const result = await runKit(["validate", dir, "--json"]);
    expect(result.code).toBe(3);
    const file = path.join(dir, "kit.yaml");
    expect(JSON.parse(result.stdout)).toEqual({
      file,
      valid: false,
      errors: [
        { file, path: "version", message: 'must be a SemVer 2.0 version such as "1.0.0" (no leading "v")', line: 2, column: 10 },
        { file, path: "secret", message: 'unknown field (did you mean "secrets"?)', line: 4, column: 1 },
      ],
    });
  });

  it("prints valid JSON with exit 0 for a valid kit", async () => {
    const dir = path.join(root, "examples/famiglia");
    const result = await runKit(["validate", dir, "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ file: path.join(dir, "kit.yaml"), valid: true, errors: [] });
  });

  it("checks a directory for everything push needs: a README.md, as a file, within its size limit", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "kit.yaml"), 'name: famiglia\nversion: "1.0.0"\nimage: ghcr.io/kit/base:1\n');
    const missing = await runKit(["validate", dir]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`${path.join(dir, "README.md")}: a kit needs a README.md next to its kit.yaml; run "kit init ${dir}" to add one (it keeps your kit.yaml)`);
    await mkdir(path.join(dir, "README.md"));
    expect((await runKit(["validate", dir])).stderr).toContain(`${path.join(dir, "README.md")}: not a regular file`);
    await rm(path.join(dir, "README.md"), { recursive: true });
    await writeFile(path.join(dir, "README.md"), "#".repeat(1024 * 1024 + 1));
    const big = JSON.parse((await runKit(["validate", dir, "--json"])).stdout);
    expect(big.errors).toEqual([{ file: path.join(dir, "README.md"), path: "", message: `${path.join(dir, "README.md")} (1048577 bytes) exceeds the limit of 1048576 bytes`, line: 0, column: 0 }]);
    // A YAML file alone is checked against the schema only.
    expect((await runKit(["validate", path.join(dir, "kit.yaml")])).code).toBe(0);
  });

  it("validateKit() returns exactly the document kit validate --json prints", async () => {
    const { validateKit } = await import("../../src/index.js");
    const dir = await tempDir();
    await writeFile(path.join(dir, "kit.yaml"), "name: famiglia\nversion: v1\nimage: a:1\n");
    for (const target of [dir, path.join(root, "examples/famiglia")]) {
      const cli = JSON.parse((await runKit(["validate", target, "--json"])).stdout);
      expect(cli).toEqual(JSON.parse(JSON.stringify(await validateKit(target))));
    }
  });

  it("treats an oversized file as invalid (exit 3)", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "kit.yaml"), "#".repeat(1024 * 1024 + 1));
    const result = await runKit(["validate", dir, "--json"]);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout).errors[0].message).toMatch(/exceeds the limit of 1048576 bytes/);
  });

  it("exits 5 when the path does not exist", async () => {
    const result = await runKit(["validate", "/nonexistent/kit"]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^kit: error: \/nonexistent\/kit: no such file or directory$/m);
  });
});

describe("kit init", () => {
  it("writes a kit that validates, named after the directory", async () => {
    const dir = path.join(await tempDir(), "My_Team Kit");
    const result = await runKit(["init", dir]);
    expect(result.code).toBe(0);
    const yaml = await readFile(path.join(dir, "kit.yaml"), "utf8");
    expect(yaml).toContain("name: my-team-kit");
    expect(yaml).toMatch(/^# /m);
    expect(existsSync(path.join(dir, "README.md"))).toBe(true);
    expect((await runKit(["validate", dir])).code).toBe(0);
  });

  it("takes --name", async () => {
    const dir = await tempDir();
    expect((await runKit(["init", dir, "--name", "famiglia"])).code).toBe(0);
    expect(await readFile(path.join(dir, "kit.yaml"), "utf8")).toContain("name: famiglia");
  });

  it("rejects an invalid --name with exit 2", async () => {
    const dir = await tempDir();
    const result = await runKit(["init", dir, "--name", "Bad_Name"]);
    expect(result.code).toBe(2);
    expect(existsSync(path.join(dir, "kit.yaml"))).toBe(false);
  });

  it("adds only the missing README.md to an existing kit.yaml, and says it kept kit.yaml", async () => {
    const dir = await tempDir();
    const yaml = '# mine\nname: famiglia\nversion: "1.0.0"\ndescription: "Team agents"\nimage: ghcr.io/kit/base:1\nsecrets:\n  required: [{name: API_KEY, description: "the key"}]\nexposes:\n  - port: 8080\n';
    await writeFile(path.join(dir, "kit.yaml"), yaml);
    const before = await stat(path.join(dir, "kit.yaml"));
    expect((await runKit(["validate", dir])).code).toBe(3);
    const result = await runKit(["init", dir]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toBe(`created ${path.join(dir, "README.md")}\nkept ${path.join(dir, "kit.yaml")} as it was\n`);
    expect(await readFile(path.join(dir, "kit.yaml"), "utf8")).toBe(yaml);
    expect((await stat(path.join(dir, "kit.yaml"))).mtimeMs).toBe(before.mtimeMs);
    const readme = await readFile(path.join(dir, "README.md"), "utf8");
    expect(readme).toMatch(/^# famiglia\n\nTeam agents\n/);
    expect(readme).toContain("- `API_KEY` (required): the key");
    expect(readme).toContain("- 8080/tcp");
    expect((await runKit(["validate", dir])).code).toBe(0);
    // With both files there, init refuses as before.
    expect((await runKit(["init", dir])).code).toBe(1);
  });

  it("refuses to overwrite and writes nothing", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "README.md"), "mine\n");
    const result = await runKit(["init", dir, "--name", "x"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${path.join(dir, "README.md")} already exists`);
    expect(await readFile(path.join(dir, "README.md"), "utf8")).toBe("mine\n");
    expect(existsSync(path.join(dir, "kit.yaml"))).toBe(false);
  });
});

describe("kit schema", () => {
  it("prints the checked-in spec/kit-manifest-v1.schema.json", async () => {
    const result = await runKit(["schema"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(await readFile(path.join(root, "spec/kit-manifest-v1.schema.json"), "utf8"));
  });

  it("describes the input side: protocol optional, unknown keys forbidden", async () => {
    const schema = JSON.parse((await runKit(["schema"])).stdout);
    expect(schema.required).toEqual(["name", "version", "image"]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.exposes.items.required).toEqual(["port"]);
    expect(schema.properties.exposes.items.properties.protocol.default).toBe("tcp");
  });
});

describe("CLI conventions", () => {
  it("prints the package version", async () => {
    const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8"));
    const result = await runKit(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it("prints help with exit 0", async () => {
    const result = await runKit(["help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("validate");
  });

  it("exits 2 on unknown commands, unknown options and extra arguments", async () => {
    for (const args of [["bogus"], ["validate", "--bogus"], ["validate", "a", "b"]]) {
      const result = await runKit(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/^kit: error: /m);
    }
  });

  it("prints a stack trace only with --debug or KIT_DEBUG=1", async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, "k"));
    await writeFile(path.join(dir, "k", "kit.yaml"), "name: x\n");
    const plain = await runKit(["validate", path.join(dir, "missing")]);
    expect(plain.stderr.trim().split("\n").every((l) => l.startsWith("kit: "))).toBe(true);
    const debug = await runKit(["validate", path.join(dir, "missing")], { env: { KIT_DEBUG: "1" } });
    expect(debug.stderr).toMatch(/NotFoundError: .*\n\s+at /);
    const flag = await runKit(["--debug", "validate", path.join(dir, "missing")]);
    expect(flag.stderr).toMatch(/\n\s+at /);
  });
});
