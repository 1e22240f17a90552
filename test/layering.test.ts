/**
 * The layers are kept by a test, as go-containerregistry keeps its depcheck
 * rules: src/oras knows nothing of kits or the CLI, src/kit nothing of the
 * CLI and reaches src/oras only through its public entry point, and no
 * library file prints or ends the process (that is the CLI's job).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../src");
/** What src/kit may import from src/oras: the modules published as @aegis/kit/oras and its subpaths. */
const ORAS_ENTRIES = new Set(["oras/index.ts", "oras/content.ts", "oras/layout/index.ts", "oras/remote/index.ts", "oras/copy/index.ts"].map((f) => path.join(SRC, f)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Every relative module a file imports or re-exports (static and dynamic), as a .ts path. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gms),
    ...text.matchAll(/^\s*import\s+["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith(".")).map((s) => path.resolve(path.dirname(file), s).replace(/\.js$/, ".ts"));
}

function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!;
}

function rel(file: string): string {
  return path.relative(SRC, file);
}

interface Rule {
  name: string;
  /** A message for each import that breaks the rule. */
  check: (from: string, to: string) => string | undefined;
}

const RULES: Rule[] = [
  {
    name: "src/oras imports nothing from src/kit or src/cli",
    check: (from, to) => (layerOf(from) === "oras" && ["kit", "cli"].includes(layerOf(to)) ? `${rel(from)} imports ${rel(to)}` : undefined),
  },
  {
    name: "src/kit imports nothing from src/cli",
    check: (from, to) => (layerOf(from) === "kit" && layerOf(to) === "cli" ? `${rel(from)} imports ${rel(to)}` : undefined),
  },
  {
    name: "src/kit imports src/oras only through its public entry points",
    check: (from, to) => (layerOf(from) === "kit" && layerOf(to) === "oras" && !ORAS_ENTRIES.has(to) ? `${rel(from)} imports ${rel(to)}` : undefined),
  },
];

/** Library code may not print or end the process: the CLI decides what a user sees and the exit code. */
const LIBRARY_FORBIDDEN = [/\bprocess\.exit\b/, /\bprocess\.(stdout|stderr)\b/, /\bconsole\.\w+\(/, /\bprocess\.exitCode\b/];

function layeringViolations(files: string[] = sourceFiles(SRC)): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const target of importsOf(file)) {
      for (const rule of RULES) {
        const broken = rule.check(file, target);
        if (broken !== undefined) problems.push(`${rule.name}: ${broken}`);
      }
    }
    if (["oras", "kit"].includes(layerOf(file))) {
      const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      for (const pattern of LIBRARY_FORBIDDEN) {
        if (pattern.test(text)) problems.push(`library code must not print or exit: ${rel(file)} uses ${pattern.source}`);
      }
    }
  }
  return problems;
}

describe("layering", () => {
  it("every public entry point of src/oras is published in package.json exports", () => {
    const pkg = JSON.parse(readFileSync(path.resolve(SRC, "../package.json"), "utf8")) as { exports: Record<string, { import: string }> };
    const published = new Set(Object.values(pkg.exports).map((e) => path.join(SRC, e.import.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts"))));
    for (const entry of ORAS_ENTRIES) expect(published.has(entry), rel(entry)).toBe(true);
  });

  it("every source file keeps the layer rules", () => {
    expect(layeringViolations()).toEqual([]);
  });

  it("sees the imports it checks (a rule that matches nothing proves nothing)", () => {
    const files = sourceFiles(SRC);
    const kitToOras = files.filter((f) => layerOf(f) === "kit").flatMap(importsOf).filter((t) => layerOf(t) === "oras");
    expect(kitToOras.length).toBeGreaterThan(5);
    const cliToKit = files.filter((f) => layerOf(f) === "cli").flatMap(importsOf).filter((t) => layerOf(t) === "kit");
    expect(cliToKit.length).toBeGreaterThan(5);
  });
});
