// Start-up cost of the CLI against a bare `node -e 0` (run: npm run build && node test/bench/startup.mjs).
// Not a test: it prints figures for the README.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const runs = Number(process.env.RUNS ?? 21);
const cases = [
  ["node -e 0", ["-e", "0"]],
  ["kit --version", ["bin/kit.js", "--version"]],
  ["kit validate examples/famiglia", ["bin/kit.js", "validate", "examples/famiglia"]],
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const results = [];
for (const [label, args] of cases) {
  spawnSync(process.execPath, args, { cwd: root }); // warm the page cache
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${label} exited ${r.status}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  results.push({ label, median: median(times), min: Math.min(...times) });
}
const base = results[0].median;
console.log(`node ${process.version}, ${runs} runs each, wall time in ms`);
console.log("| command | median | min | over node -e 0 |");
console.log("|---|---|---|---|");
for (const r of results) console.log(`| \`${r.label}\` | ${r.median.toFixed(0)} | ${r.min.toFixed(0)} | +${(r.median - base).toFixed(0)} |`);
