import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Replaced by scripts/build-cli.mjs (esbuild --define) with package.json's version; absent in the tsc build.
declare const __KIT_VERSION__: string | undefined;

let cached: string | undefined;

/**
 * The package version: built into the CLI bundle; in the tsc build, from our
 * package.json, found by walking up from this module.
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  if (typeof __KIT_VERSION__ === "string") return (cached = __KIT_VERSION__);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "@aegis/kit" && pkg.version) return (cached = pkg.version);
    } catch {
      // not here; keep walking up
    }
    dir = dirname(dir);
  }
  return (cached = "0.0.0-unknown");
}
