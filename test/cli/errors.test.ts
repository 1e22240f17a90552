/** Every failure in one form: one `kit: error:` line, at most one hint, and with --json a document on stdout. */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runKit } from "../support/cli.js";

function expectOneErrorForm(stderr: string): { error: string; hint?: string } {
  const lines = stderr.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^kit: error: \S/);
  expect(lines.length).toBeLessThanOrEqual(2);
  if (lines.length === 2) expect(lines[1]).toMatch(/^kit: hint: \S/);
  return { error: lines[0]!.slice("kit: error: ".length), ...(lines[1] ? { hint: lines[1].slice("kit: hint: ".length) } : {}) };
}

describe("usage errors from the argument parser", () => {
  it.each([
    [["pul"], "unknown command 'pul'", 'did you mean "kit pull"?'],
    [["pull"], "missing required argument 'ref'", 'run "kit pull --help" for usage'],
    [["pull", "a", "b"], "too many arguments for 'pull'. Expected 1 argument but got 2.", 'run "kit pull --help" for usage'],
    [["pull", "--forse", "x"], "unknown option '--forse'", "did you mean --force?"],
    [["--bogus"], "unknown option '--bogus'", 'run "kit help" for usage'],
  ])("kit %j: exit 2, one error line and one hint", async (args, error, hint) => {
    const result = await runKit(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(expectOneErrorForm(result.stderr)).toEqual({ error, hint });
  });

  it("prints the error document on stdout with --json", async () => {
    const result = await runKit(["pull", "--json"]);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      error: { code: "USAGE", exit: 2, message: "missing required argument 'ref'", hint: 'run "kit pull --help" for usage' },
    });
  });
});

describe("failures with --json", () => {
  it("kit pull of a kit missing from the store: exit 5, stderr line, and {error} on stdout", async () => {
    const store = await mkdtemp(path.join(tmpdir(), "kit-errors-"));
    const result = await runKit(["pull", "nothing:1.0.0", "--json"], { env: { KIT_STORE: path.join(store, "store") } });
    expect(result.code).toBe(5);
    const { error } = expectOneErrorForm(result.stderr);
    const doc = JSON.parse(result.stdout) as { error: { code: string; exit: number; message: string } };
    expect(doc.error).toMatchObject({ code: "NOT_FOUND", exit: 5, message: error });
  });

  it("kit validate of a missing path: exit 5 and the document", async () => {
    const result = await runKit(["validate", "/nonexistent/kit", "--json"]);
    expect(result.code).toBe(5);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "NOT_FOUND", exit: 5 } });
  });

  it("without --json nothing is printed on stdout", async () => {
    const result = await runKit(["validate", "/nonexistent/kit"]);
    expect(result.code).toBe(5);
    expect(result.stdout).toBe("");
    expectOneErrorForm(result.stderr);
  });
});

describe("--debug", () => {
  it("prints a stack whose frames name the TypeScript sources, after the error line", async () => {
    const result = await runKit(["validate", "/nonexistent/kit", "--debug"]);
    expect(result.code).toBe(5);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^kit: error: /);
    expect(result.stderr).toMatch(/at .*resolveKitFile \(.*src\/kit\/load\.ts:\d+:\d+\)/);
  });
});
