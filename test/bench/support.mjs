// Benchmarks reuse the test launchers (TypeScript): bundle them once with esbuild into a temp dir and import that.
import { mkdirSync, mkdtempSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

export const root = fileURLToPath(new URL("../..", import.meta.url));

export async function loadSupport() {
  // Inside node_modules so the bundle's external imports (yaml, undici) resolve from the project.
  mkdirSync(path.join(root, "node_modules/.cache"), { recursive: true });
  const outdir = mkdtempSync(path.join(root, "node_modules/.cache/kit-bench-support-"));
  await build({
    entryPoints: { registry: "test/support/registry.ts", images: "test/support/images.ts", proxy: "test/support/fault-proxy.ts" },
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outdir,
    outExtension: { ".js": ".mjs" },
    packages: "external",
    logLevel: "warning",
  });
  const load = (name) => import(pathToFileURL(path.join(outdir, `${name}.mjs`)).href);
  return { ...(await load("registry")), ...(await load("images")), ...(await load("proxy")) };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
