/** Text that others control reaches a terminal escaped; --json stays exact. */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { escapeControl, escapeControlInDocument } from "../../src/cli/terminal-text.js";
import { layoutWithManifest } from "../support/content.js";
import { runKit } from "../support/cli.js";

describe("escapeControl", () => {
  it.each([
    ["plain text, ünïcode and emoji 🚀", "plain text, ünïcode and emoji 🚀"],
    ["a\nkit: error: injected line", "a\\nkit: error: injected line"],
    ["\u001b[31mred\u001b[0m", "\\u001b[31mred\\u001b[0m"],
    ["\u001b]8;;https://evil.example\u0007link\u001b]8;;\u0007", "\\u001b]8;;https://evil.example\\u0007link\\u001b]8;;\\u0007"],
    ["nul\u0000 del\u007f c1\u009b tab\t cr\r", "nul\\u0000 del\\u007f c1\\u009b tab\\t cr\\r"],
    ["bidi \u202eevil\u2066", "bidi \\u202eevil\\u2066"],
  ])("%j -> %j", (input, expected) => {
    expect(escapeControl(input)).toBe(expected);
  });
});

describe("escapeControlInDocument", () => {
  it("keeps tabs and newlines of a document and escapes the rest", () => {
    expect(escapeControlInDocument("a:\tb\n\u001b[2Jc\r\n")).toBe("a:\tb\n\\u001b[2Jc\\r\n");
  });
});

describe("registry-controlled text in human output", () => {
  it("kit tags prints a ref name with a newline and ESC escaped, one line each; --json keeps it exact", async () => {
    const { dir, descriptor } = await layoutWithManifest(64);
    const evil = "v1\nkit: error: injected line\u001b[2J";
    await writeFile(
      path.join(dir, "index.json"),
      JSON.stringify({ schemaVersion: 2, manifests: [{ ...descriptor, annotations: { "org.opencontainers.image.ref.name": evil } }] }),
    );
    const human = await runKit(["tags", `oci:${dir}`]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe("v1\\nkit: error: injected line\\u001b[2J\n");
    const json = await runKit(["tags", `oci:${dir}`, "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ tags: [evil] });
  });

  it("an error message quoting a path with ESC shows it escaped on stderr", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kit-term-"));
    await mkdir(path.join(dir, "sub"));
    const result = await runKit(["validate", path.join(dir, "\u001b[31mred")]);
    expect(result.code).toBe(5);
    expect(result.stderr).not.toContain("\u001b");
    expect(result.stderr).toContain("\\u001b[31mred");
  });
});
