import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkKitManifest, KitValidationError, loadKit } from "../../src/kit/load.js";
import { MAX_KIT_FILE_BYTES } from "../../src/kit/limits.js";
import { SizeLimitError } from "../../src/oras/errors.js";

const valid = `name: famiglia
version: "1.0.0"
image: ghcr.io/kit/base:latest
`;

function issuesOf(text: string) {
  return checkKitManifest(Buffer.from(text)).issues;
}

describe("loading kit.yaml", () => {
  it("locates a single-field error on that field's value", () => {
    const text = `${valid}resources:\n  memory_mb: 8192\n  max_memory_mb: 4096\n`;
    expect(issuesOf(text)).toEqual([{ path: "resources.memory_mb", message: "must be <= max_memory_mb (4096)", line: 5, column: 14 }]);
  });

  it("locates an unknown key on the key itself and suggests the known one", () => {
    const text = `${valid}secret:\n  required: []\n`;
    expect(issuesOf(text)).toEqual([{ path: "secret", message: 'unknown field (did you mean "secrets"?)', line: 4, column: 1 }]);
  });

  it("locates a nested unknown key", () => {
    const text = `${valid}exposes:\n  - port: 80\n    hostPort: 80\n`;
    expect(issuesOf(text)).toEqual([expect.objectContaining({ path: "exposes[0].hostPort", line: 6, column: 5 })]);
  });

  it("reports a missing required field at the document", () => {
    expect(issuesOf(`name: x\nversion: "1.0.0"\n`)).toEqual([{ path: "image", message: "is required", line: 1, column: 1 }]);
  });

  it("tells the author to quote an unquoted version", () => {
    expect(issuesOf(`name: x\nversion: 1.0\nimage: a:1\n`)[0]).toMatchObject({ path: "version", line: 2, column: 10, message: expect.stringContaining("quote it") });
  });

  it("reports every problem, sorted by position", () => {
    const issues = issuesOf(`name: X\nversion: v1\nimage: a:1\negress: ["http://x"]\n`);
    expect(issues.map((i) => i.path)).toEqual(["name", "version", "egress[0]"]);
  });

  it("refuses duplicate keys at their position", () => {
    expect(issuesOf(`${valid}name: other\n`)).toEqual([expect.objectContaining({ line: 4, column: 1, message: expect.stringContaining('duplicate key "name"') })]);
  });

  it("allows a few aliases", () => {
    const text = `${valid}secrets:\n  required: &s [{name: A}]\nexposes: [{port: 1}]\n`;
    expect(issuesOf(text)).toEqual([]);
    const withAlias = `name: &n famiglia\nversion: "1.0.0"\nimage: ghcr.io/x/base:1\ndescription: *n\n`;
    expect(checkKitManifest(Buffer.from(withAlias)).value?.description).toBe("famiglia");
  });

  it("fails fast on an alias bomb", () => {
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]",
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]",
    ].join("\n");
    const issues = issuesOf(bomb);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/too many YAML alias expansions/);
  });

  it("rejects syntax errors, several documents, empty files and non-mappings", () => {
    expect(issuesOf("name: [\n")[0]!.message).toMatch(/^invalid YAML/);
    expect(issuesOf(`${valid}---\nname: y\n`)[0]!.message).toMatch(/exactly one YAML document/);
    expect(issuesOf("")[0]!.message).toMatch(/empty/);
    expect(issuesOf("- a\n- b\n")[0]!.message).toMatch(/must be a mapping/);
  });

  it("refuses files over 1 MiB before parsing them", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kit-load-"));
    const file = path.join(dir, "kit.yaml");
    await writeFile(file, valid + "#".repeat(MAX_KIT_FILE_BYTES));
    await expect(loadKit(file)).rejects.toBeInstanceOf(SizeLimitError);
  });

  it("loads a directory's kit.yaml and keeps its exact bytes", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kit-load-"));
    await writeFile(path.join(dir, "kit.yaml"), valid);
    const kit = await loadKit(dir);
    expect(kit.bytes.toString()).toBe(valid);
    expect(kit.manifest.name).toBe("famiglia");
  });

  it("throws a KitValidationError that names file, line, column and field", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kit-load-"));
    await writeFile(path.join(dir, "kit.yaml"), `${valid}resources: {vcpus: 8, max_vcpus: 4}\n`);
    const err = await loadKit(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KitValidationError);
    expect((err as Error).message).toBe(`${path.join(dir, "kit.yaml")}:4:20: resources.vcpus: must be <= max_vcpus (4)`);
  });
});
