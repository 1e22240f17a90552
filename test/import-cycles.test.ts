/**
 * No import cycles in src/: every module can be read (and loaded) after the
 * modules it imports. Type-only imports count too: a cycle of types is still
 * two modules that cannot be understood apart.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

type Graph = ReadonlyMap<string, readonly string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Each file's relative imports (import, export … from, import()), as paths relative to src/. */
function importGraph(root: string): Graph {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => path.relative(root, path.resolve(path.dirname(file), spec)).replace(/\.js$/, ".ts"));
    graph.set(path.relative(root, file), [...new Set(targets)]);
  }
  return graph;
}

/** One cycle per back edge found by a depth-first walk, each as the path that closes it (first node repeated last). */
function findCycles(graph: Graph): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe("import cycles", () => {
  it("finds a cycle when there is one, and none in a tree", () => {
    const cyclic = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
    ]);
    expect(findCycles(cyclic)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
    expect(findCycles(new Map([["a.ts", ["b.ts", "c.ts"]], ["b.ts", ["c.ts"]], ["c.ts", []]]))).toEqual([]);
  });

  it("reads type-only, re-exporting and multi-line imports", () => {
    const file = `import type { A } from "./a.js";\nexport { B } from "../b.js";\nimport {\n  C,\n} from "./c/index.js";\nconst d = await import("./d.js");\nimport { e } from "undici";\n`;
    const specs = ts.preProcessFile(file, true, true).importedFiles.map((f) => f.fileName);
    expect(specs).toEqual(["./a.js", "../b.js", "./c/index.js", "./d.js", "undici"]);
  });

  it("src/ has none", () => {
    const graph = importGraph(SRC);
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get(path.join("oras", "remote", "upload.ts"))).toContain(path.join("oras", "remote", "registry-client.ts"));
    expect(findCycles(graph).map((cycle) => cycle.join(" -> "))).toEqual([]);
  });
});
