// kit pull of a kit by digest into a cold store vs skopeo copy of the same artifact into an OCI layout,
// and the HTTP requests each pull makes (counted by a proxy in front of the registry).
// Usage: npm run build && node test/bench/pull.mjs   (RUNS=11)
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadSupport, median, root } from "./support.mjs";

const runs = Number(process.env.RUNS ?? 11);
const { startRegistry, buildImage, startFaultProxy } = await loadSupport();
const registry = await startRegistry();
const proxy = await startFaultProxy({ upstream: registry.url });
const work = mkdtempSync(path.join(tmpdir(), "kit-bench-pull-"));
const kit = (args, env = {}) => spawnSync(process.execPath, [path.join(root, "bin/kit.js"), ...args], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${stderr}`))));
  });
}

try {
  await buildImage({ url: registry.url, repo: "base/agent" }, { tag: "latest", seed: "bench-base" });
  const dir = path.join(work, "kit");
  mkdirSync(dir);
  writeFileSync(path.join(dir, "kit.yaml"), `name: famiglia\nversion: "1.0.0"\nimage: ${registry.host}/base/agent:latest\nexposes: [{port: 8080}]\n`);
  writeFileSync(path.join(dir, "README.md"), "# famiglia\n");
  const pushed = kit(["push", `${registry.host}/kits/famiglia:1.0.0`, dir, "--json"], { KIT_STORE: path.join(work, "push-store") });
  if (pushed.status !== 0) throw new Error(pushed.stderr);
  const { digest } = JSON.parse(pushed.stdout);

  function timed(argv, env) {
    const start = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  }

  const times = { kit: [], skopeo: [] };
  for (let i = 0; i < runs; i++) {
    const store = path.join(work, `store-${i}`);
    times.kit.push(timed([process.execPath, path.join(root, "bin/kit.js"), "pull", `${registry.host}/kits/famiglia@${digest}`], { KIT_STORE: store }));
    const layout = path.join(work, `layout-${i}`);
    times.skopeo.push(timed(["skopeo", "copy", "--insecure-policy", "--src-tls-verify=false", "-q", "--preserve-digests", `docker://${registry.host}/kits/famiglia@${digest}`, `oci:${layout}:kit`], {}));
    rmSync(store, { recursive: true, force: true });
    rmSync(layout, { recursive: true, force: true });
  }

  // Requests per pull, through the counting proxy (which lives in this process, so the children run async).
  proxy.resetRequests();
  await run(process.execPath, [path.join(root, "bin/kit.js"), "pull", `${proxy.host}/kits/famiglia@${digest}`], { KIT_STORE: path.join(work, "count-store") });
  const kitRequests = proxy.requests.map((r) => `${r.method} ${r.url.replace(/sha256:[0-9a-f]{64}/, "sha256:…")}`);
  proxy.resetRequests();
  await run("skopeo", ["copy", "--insecure-policy", "--src-tls-verify=false", "-q", "--preserve-digests", `docker://${proxy.host}/kits/famiglia@${digest}`, `oci:${path.join(work, "count-layout")}:kit`], {});
  const skopeoRequests = proxy.requests.length;

  console.log(`pull of one kit by digest (manifest + config + 2 layers) from a loopback registry, cold store; node ${process.version}; ${runs} runs, medians`);
  console.log("| client | wall (ms) | HTTP requests |");
  console.log("|---|---|---|");
  console.log(`| \`skopeo copy docker://… oci:…\` | ${median(times.skopeo).toFixed(0)} | ${skopeoRequests} |`);
  console.log(`| \`kit pull REPO@sha256:…\` | ${median(times.kit).toFixed(0)} | ${kitRequests.length} |`);
  console.log(`kit's requests: ${kitRequests.join("; ")}`);
} finally {
  await proxy.stop();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
