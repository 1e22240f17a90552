// Airgap transfers on this machine, in one run, the tools alternating (medians of wall time and GNU time's peak RSS):
//  1. kit mirror of a kit + its 2-platform base image between two loopback registries
//     vs skopeo copy --all --preserve-digests of the same image;
//  2. kit save + kit load of the same closure (file, then an empty registry)
//     vs skopeo copy to an oci-archive: and back into an empty registry;
//  3. peak RSS of kit mirror / save / load with a 50 MiB vs a 1 GiB single-layer base image (flat = streaming).
// Usage: npm run build && node test/bench/airgap.mjs   (RUNS=5, LAYERS_MB=50,150 per platform, BIG_MB=1024, SMALL_MB=50)
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadSupport, median, root } from "./support.mjs";

const runs = Number(process.env.RUNS ?? 5);
const layersMb = (process.env.LAYERS_MB ?? "50,150").split(",").map(Number);
const bigMb = Number(process.env.BIG_MB ?? 1024);
const smallMb = Number(process.env.SMALL_MB ?? 50);
const { startRegistry, buildImageIndex, buildImage } = await loadSupport();
const work = mkdtempSync(path.join(process.env.BENCH_TMP ?? tmpdir(), "kit-bench-airgap-"));
const KIT = [process.execPath, path.join(root, "bin/kit.js")];
const SKOPEO = ["skopeo", "--insecure-policy"];
const NO_TLS = ["--src-tls-verify=false", "--dest-tls-verify=false"];

// Async, so this process keeps draining the registries' stderr pipes while a client runs.
function timed(label, argv, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%e %M", ...argv], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${label} failed (${code}): ${stderr}`));
      const [wall, rssKb] = stderr.trim().split("\n").at(-1).split(" ").map(Number);
      resolve({ wall, rssMb: rssKb / 1024 });
    });
  });
}

async function withRegistry(fn) {
  const registry = await startRegistry();
  try {
    return await fn(registry);
  } finally {
    await registry.stop();
  }
}

function pushKit(registry, image, name) {
  const dir = path.join(work, `kit-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "kit.yaml"), `name: ${name}\nversion: "1.0.0"\nimage: ${image}\nexposes: [{port: 8080}]\n`);
  writeFileSync(path.join(dir, "README.md"), `# ${name}\n`);
  const r = spawnSync(KIT[0], [...KIT.slice(1), "push", `${registry.host}/org/${name}-kit:1.0.0`, dir], { encoding: "utf8", env: { ...process.env, KIT_STORE: path.join(work, "push-store") } });
  if (r.status !== 0) throw new Error(r.stderr);
  return `${registry.host}/org/${name}-kit:1.0.0`;
}

const summary = (rows) => Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { wall: median(v.map((r) => r.wall)), rss: median(v.map((r) => r.rssMb)) }]));
const line = (name, r, base) => `| ${name} | ${r.wall.toFixed(2)} | ${r.rss.toFixed(0)} |${base ? ` ${(r.wall / base.wall).toFixed(2)} |` : ""}`;

try {
  await withRegistry(async (src) => {
    const image = await buildImageIndex({ url: src.url, repo: "kit/base" }, { platforms: ["linux/amd64", "linux/arm64"], layerSizes: layersMb.map((mb) => mb << 20), tag: "1", seed: "airgap-bench" });
    const kitRef = pushKit(src, `${src.host}/kit/base:1`, "famiglia");
    const totalMb = (image.blobBytes / 1024 / 1024).toFixed(0);

    const rows = { mirror: [], skopeo: [], saveLoad: [], skopeoArchive: [] };
    for (let i = 0; i < runs; i++) {
      rows.mirror.push(await withRegistry((dst) => timed("kit mirror", [...KIT, "mirror", kitRef, "--to", `${dst.host}/airgap`])));
      rows.skopeo.push(await withRegistry((dst) => timed("skopeo copy", [...SKOPEO, "copy", "-q", "--all", "--preserve-digests", ...NO_TLS, `docker://${src.host}/kit/base:1`, `docker://${dst.host}/airgap/kit/base:1`])));
      const bundle = path.join(work, `bundle-${i}.tar`);
      const save = await timed("kit save", [...KIT, "save", kitRef, "-o", bundle]);
      const load = await withRegistry((dst) => timed("kit load", [...KIT, "load", bundle, "--to", dst.host]));
      rows.saveLoad.push({ wall: save.wall + load.wall, rssMb: Math.max(save.rssMb, load.rssMb) });
      rmSync(bundle, { force: true });
      const archive = path.join(work, `archive-${i}.tar`);
      const out = await timed("skopeo to oci-archive", [...SKOPEO, "copy", "-q", "--all", "--preserve-digests", "--src-tls-verify=false", `docker://${src.host}/kit/base:1`, `oci-archive:${archive}:kit/base:1`]);
      const back = await withRegistry((dst) => timed("skopeo from oci-archive", [...SKOPEO, "copy", "-q", "--all", "--preserve-digests", "--dest-tls-verify=false", `oci-archive:${archive}:kit/base:1`, `docker://${dst.host}/kit/base:1`]));
      rows.skopeoArchive.push({ wall: out.wall + back.wall, rssMb: Math.max(out.rssMb, back.rssMb) });
      rmSync(archive, { force: true });
    }
    const s = summary(rows);
    console.log(`kit + 2-platform base image, ${totalMb} MB of blobs (layers ${layersMb.join("/")} MB per platform); node ${process.version}; ${runs} runs each, alternating; medians`);
    console.log("| transfer | wall (s) | peak RSS (MiB) | wall vs skopeo |");
    console.log("|---|---|---|---|");
    console.log(line("`skopeo copy --all --preserve-digests` registry → registry", s.skopeo, s.skopeo));
    console.log(line("`kit mirror` kit + image → registry", s.mirror, s.skopeo));
    console.log(line("`skopeo copy` → `oci-archive:` → registry", s.skopeoArchive, s.skopeoArchive));
    console.log(line("`kit save` → bundle → `kit load --to`", s.saveLoad, s.skopeoArchive));
  });

  // Peak RSS against blob size: one single-layer image of each size.
  const flat = {};
  for (const mb of [smallMb, bigMb]) {
    await withRegistry(async (src) => {
      await buildImage({ url: src.url, repo: `kit/base${mb}` }, { layerSizes: [mb << 20], tag: "1", seed: `airgap-flat-${mb}` });
      const kitRef = pushKit(src, `${src.host}/kit/base${mb}:1`, `flat${mb}`);
      const bundle = path.join(work, `flat-${mb}.tar`);
      const mirror = await withRegistry((dst) => timed("kit mirror", [...KIT, "mirror", kitRef, "--to", dst.host]));
      const save = await timed("kit save", [...KIT, "save", kitRef, "-o", bundle]);
      const bundleMb = statSync(bundle).size / 1024 / 1024;
      const load = await withRegistry((dst) => timed("kit load", [...KIT, "load", bundle, "--to", dst.host]));
      const store = path.join(work, `flat-store-${mb}`);
      const loadStore = await timed("kit load (store)", [...KIT, "load", bundle], { KIT_STORE: store });
      rmSync(bundle, { force: true });
      rmSync(store, { recursive: true, force: true });
      flat[mb] = { mirror, save, load, loadStore, bundleMb };
    });
  }
  console.log("");
  console.log("peak RSS (MiB) against the size of a single-layer base image");
  console.log(`| command | ${smallMb} MiB layer | ${bigMb} MiB layer |`);
  console.log("|---|---|---|");
  for (const cmd of ["mirror", "save", "load", "loadStore"]) {
    const name = { mirror: "`kit mirror`", save: "`kit save`", load: "`kit load --to`", loadStore: "`kit load` (store)" }[cmd];
    console.log(`| ${name} | ${flat[smallMb][cmd].rssMb.toFixed(0)} | ${flat[bigMb][cmd].rssMb.toFixed(0)} |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
