// kit copy vs skopeo copy --all --preserve-digests, registry to registry, on this machine in one run.
// Usage: npm run build && node test/bench/copy.mjs   (RUNS=5, LAYERS_MB=20,60,120 per platform)
// Prints median wall time and peak RSS (GNU time's %M) of the copying client, the two tools alternating.
import { spawn } from "node:child_process";
import path from "node:path";
import { loadSupport, median, root } from "./support.mjs";

const runs = Number(process.env.RUNS ?? 5);
const layersMb = (process.env.LAYERS_MB ?? "20,60,120").split(",").map(Number);
const { startRegistry, buildImageIndex } = await loadSupport();

const src = await startRegistry();
try {
  const image = await buildImageIndex(
    { url: src.url, repo: "bench/app" },
    { platforms: ["linux/amd64", "linux/arm64"], layerSizes: layersMb.map((mb) => mb * 1024 * 1024), tag: "v1", seed: "bench" },
  );
  const totalMb = (image.blobBytes / 1024 / 1024).toFixed(0);

  // Async, so this process keeps draining the registries' stderr pipes while a client runs.
  function timed(label, argv) {
    return new Promise((resolve, reject) => {
      const child = spawn("/usr/bin/time", ["-f", "%e %M", ...argv], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => {
        if (code !== 0) return reject(new Error(`${label} failed: ${stderr}`));
        const [wall, rssKb] = stderr.trim().split("\n").at(-1).split(" ").map(Number);
        resolve({ wall, rssMb: rssKb / 1024 });
      });
    });
  }

  async function intoEmptyRegistry(fn) {
    const dst = await startRegistry();
    try {
      return await fn(dst);
    } finally {
      await dst.stop();
    }
  }

  const results = { kit: [], skopeo: [] };
  for (let i = 0; i < runs; i++) {
    // A fresh, empty destination registry for every run: both clients must upload every byte (skopeo would
    // otherwise reuse blobs its cache saw in the destination on an earlier run).
    results.kit.push(await intoEmptyRegistry((dst) => timed("kit", [process.execPath, path.join(root, "bin/kit.js"), "copy", `${src.host}/bench/app:v1`, `${dst.host}/app:v1`])));
    results.skopeo.push(
      await intoEmptyRegistry((dst) =>
        timed("skopeo", ["skopeo", "copy", "--all", "--preserve-digests", "--insecure-policy", "--src-tls-verify=false", "--dest-tls-verify=false", "-q",
          `docker://${src.host}/bench/app:v1`, `docker://${dst.host}/app:v1`]),
      ),
    );
  }
  const row = (name) => {
    const wall = median(results[name].map((r) => r.wall));
    const rss = median(results[name].map((r) => r.rssMb));
    return { name, wall, rss };
  };
  const kit = row("kit");
  const skopeo = row("skopeo");
  console.log(`copy of a 2-platform index, ${totalMb} MB of blobs (layers ${layersMb.join("/")} MB per platform), registry -> registry`);
  console.log(`node ${process.version}, ${runs} runs each, alternating; medians`);
  console.log("| client | wall (s) | peak RSS (MiB) | wall vs skopeo |");
  console.log("|---|---|---|---|");
  for (const r of [skopeo, kit]) console.log(`| ${r.name === "kit" ? "`kit copy`" : "`skopeo copy --all --preserve-digests`"} | ${r.wall.toFixed(2)} | ${r.rss.toFixed(0)} | ${(r.wall / skopeo.wall).toFixed(2)} |`);
} finally {
  await src.stop();
}
