// `npm run fuzz`: the property tests of test/fuzz with a random seed (printed, so a failure can be replayed) and
// FUZZ_SCALE times the normal suite's runs (default 20). FUZZ_SEED=<n> replays a seed; extra arguments go to vitest.
import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const seed = process.env.FUZZ_SEED || String(randomInt(1, 2 ** 31 - 1));
const scale = process.env.FUZZ_SCALE || "20";
console.log(`fuzz: FUZZ_SEED=${seed} FUZZ_SCALE=${scale} (replay with: FUZZ_SEED=${seed} FUZZ_SCALE=${scale} npm run fuzz)`);
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const result = spawnSync(process.execPath, [vitest, "run", "--config", "test/vitest.config.ts", "test/fuzz", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, FUZZ_SEED: seed, FUZZ_SCALE: scale },
});
process.exit(result.status ?? 1);
