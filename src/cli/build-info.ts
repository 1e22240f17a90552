// Replaced by scripts/build-cli.mjs (esbuild --define); absent in the tsc build, which then says "unknown".
declare const __KIT_COMMIT__: string | undefined;

/** The git commit the CLI bundle was built from, or "unknown" (built outside a git checkout). */
export function buildCommit(): string {
  return typeof __KIT_COMMIT__ === "string" && /^[0-9a-f]{40,64}$/.test(__KIT_COMMIT__) ? __KIT_COMMIT__ : "unknown";
}
