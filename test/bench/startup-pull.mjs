// Start-up cost of the commands aegisd and CI call many times, against a bare `node -e 0` in the same run:
// `kit --version`, `kit validate DIR`, an offline `kit pull NAME@sha256:…` from a prepared store, and
// `kit pull REPO@sha256:…` from a loopback registry into a cold store (with its HTTP request count, through a
// counting proxy), plus `skopeo copy` of the same artifact into an OCI layout for comparison.
// Every round runs each case once, in turn, so load from other processes falls on all of them alike.
// Not a test: it prints a table for the README.
// Usage: npm run build && node test/bench/startup-pull.mjs   (RUNS=21, NODE=/path/to/node to time another Node)
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { loadSupport, median, root } from "./support.mjs";

const runs = Number(process.env.RUNS ?? 21);
const node = process.env.NODE ?? process.execPath;
const kitBin = path.join(root, "bin/kit.js");
const { startRegistry, buildImage, startFaultProxy } = await loadSupport();
const registry = await startRegistry();
const proxy = await startFaultProxy({ upstream: registry.url });
const work = mkdtempSync(path.join(tmpdir(), "kit-bench-startup-"));
// No config file and no Docker credentials (an empty HOME): every case does the same work on every machine.
const home = path.join(work, "home");
mkdirSync(home);
const baseEnv = { ...process.env, HOME: home, DOCKER_CONFIG: path.join(home, ".docker") };
for (const name of ["NODE_OPTIONS", "KIT_CONFIG", "KIT_STORE"]) delete baseEnv[name];

function sync(argv, env = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { cwd: root, encoding: "utf8", env: { ...baseEnv, ...env } });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r;
}

function timed(argv, env) {
  const start = process.hrtime.bigint();
  sync(argv, env);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** For the request counts: the proxy lives in this process, so the child must run asynchronously. */
function runAsync(argv, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, env: { ...baseEnv, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(" ")} exited ${code}: ${stderr}`))));
  });
}

try {
  // The famiglia example, its image pointed at a base image in the loopback registry so the push can pin it.
  await buildImage({ url: registry.url, repo: "base/agent" }, { tag: "latest", seed: "bench-base" });
  const dir = path.join(work, "famiglia");
  cpSync(path.join(root, "examples/famiglia"), dir, { recursive: true });
  const kitYaml = path.join(dir, "kit.yaml");
  writeFileSync(kitYaml, readFileSync(kitYaml, "utf8").replace(/^image: .*$/m, `image: ${registry.host}/base/agent:latest`));
  const pushed = sync([node, kitBin, "push", `${registry.host}/kits/famiglia:1.0.0`, dir, "--json"], { KIT_STORE: path.join(work, "push-store") });
  const { digest } = JSON.parse(pushed.stdout);
  const remoteRef = `${registry.host}/kits/famiglia@${digest}`;
  const storeRef = `famiglia@${digest}`;
  const warmStore = path.join(work, "warm-store");
  sync([node, kitBin, "pull", remoteRef], { KIT_STORE: warmStore });

  let cold = 0;
  const coldStore = () => path.join(work, `cold-${++cold}`);
  const cases = [
    { label: "node -e 0", argv: () => [node, "-e", "0"] },
    { label: "kit --version", argv: () => [node, kitBin, "--version"] },
    { label: "kit validate examples/famiglia", argv: () => [node, kitBin, "validate", "examples/famiglia"] },
    { label: "kit pull NAME@sha256:… (local store, offline)", argv: () => [node, kitBin, "pull", storeRef], env: () => ({ KIT_STORE: warmStore }) },
    { label: "kit pull REPO@sha256:… (loopback registry, cold store)", argv: () => [node, kitBin, "pull", remoteRef], env: () => ({ KIT_STORE: coldStore() }) },
    {
      label: "skopeo copy docker://REPO@sha256:… oci:DIR",
      argv: () => ["skopeo", "copy", "--insecure-policy", "--src-tls-verify=false", "-q", "--preserve-digests", `docker://${remoteRef}`, `oci:${coldStore()}:kit`],
    },
  ];
  for (const c of cases) sync(c.argv(), c.env?.()); // warm the page cache
  const times = cases.map(() => []);
  const loads = [];
  for (let i = 0; i < runs; i++) {
    loads.push(loadavg()[0]);
    for (const [n, c] of cases.entries()) times[n].push(timed(c.argv(), c.env?.()));
    for (let k = 1; k <= cold; k++) rmSync(path.join(work, `cold-${k}`), { recursive: true, force: true });
  }

  // Requests of one cold pull of each client, through the counting proxy.
  const viaProxy = `${proxy.host}/kits/famiglia@${digest}`;
  proxy.resetRequests();
  await runAsync([node, kitBin, "pull", viaProxy], { KIT_STORE: coldStore() });
  const kitRequests = proxy.requests.map((r) => `${r.method} ${r.url.replace(/sha256:[0-9a-f]{64}/, "sha256:…")}`);
  proxy.resetRequests();
  await runAsync(["skopeo", "copy", "--insecure-policy", "--src-tls-verify=false", "-q", "--preserve-digests", `docker://${viaProxy}`, `oci:${coldStore()}:kit`]);
  const skopeoRequests = proxy.requests.length;
  // The floor: one manifest GET and one GET per blob (config, kit.yaml, README.md).
  const floor = 1 + 3;

  const nodeVersion = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
  const base = median(times[0]);
  console.log(`node ${nodeVersion}, ${cpus().length} cores, ${runs} rounds (cases alternating), load average during the runs ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}; wall ms`);
  console.log("| command | median | min | vs `node -e 0` |");
  console.log("|---|---|---|---|");
  for (const [n, c] of cases.entries()) {
    const m = median(times[n]);
    console.log(`| \`${c.label}\` | ${m.toFixed(0)} | ${Math.min(...times[n]).toFixed(0)} | ${(m / base).toFixed(2)} |`);
  }
  console.log(`HTTP requests of a cold pull: kit ${kitRequests.length} (floor ${floor}), skopeo ${skopeoRequests}`);
  console.log(`kit's requests: ${kitRequests.join("; ")}`);
  if (kitRequests.length !== floor) process.exitCode = 1;
} finally {
  await proxy.stop();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
