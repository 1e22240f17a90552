// Bundles the compiled CLI (dist/cli, from tsc) into dist/bundle with esbuild, one chunk per command, and embeds the
// git commit it is built from for `kit version` ("unknown" outside a git checkout, e.g. from a source tarball).
import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = realpathSync(fileURLToPath(new URL("..", import.meta.url)));

function gitCommit() {
  const git = (...args) => execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).trim();
  try {
    // Only this checkout's own commit: a tarball unpacked inside some other repository must not claim that one's.
    if (realpathSync(git("rev-parse", "--show-toplevel")) !== root) return "unknown";
    return git("rev-parse", "--verify", "HEAD");
  } catch {
    return "unknown";
  }
}

await build({
  absWorkingDir: root,
  entryPoints: ["dist/cli/main.js"],
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outdir: "dist/bundle",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  minify: true,
  keepNames: true,
  // Read only with --debug (bin/kit.js enables source maps then), so stack traces name src/ files.
  sourcemap: true,
  logLevel: "warning",
  define: { __KIT_COMMIT__: JSON.stringify(gitCommit()) },
  banner: { js: "import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);" },
});
