/**
 * kit mirror between two real registries: a kit and its 2-platform base image land under a prefix with every digest
 * kept and both tagged; a dry run writes nothing; unpinned kits are refused unless allowed; a mirror killed with
 * SIGKILL half-way completes when run again, with no manifest missing a child at any point; a layer two images share
 * moves once; a list file chooses tags by glob and SemVer range; and two registries' repositories that would share a
 * path are refused before anything is copied.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pushKit } from "../../src/kit/push.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { KIT_BIN, runKit } from "../support/cli.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage, buildImageIndex, skopeoBytes, type BuiltImageIndex, type Descriptor } from "../support/images.js";
import { auditRegistry } from "../support/registry-audit.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const MB = 1024 * 1024;
const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

let a: RunningRegistry;
let b: RunningRegistry;
/** In front of B: counts what the mirror sends, and stalls it when told. */
let toB: FaultProxy;
/** A second name for registry A, to play a second source registry. */
let aliasA: FaultProxy;
let work: string;
let image: BuiltImageIndex;
let kitDigest: string;

async function kitDir(name: string, version: string, imageRef: string): Promise<string> {
  const dir = await mkdtemp(path.join(work, `${name}-`));
  await writeFile(path.join(dir, "kit.yaml"), `name: ${name}\nversion: "${version}"\nimage: ${imageRef}\n`);
  await writeFile(path.join(dir, "README.md"), `# ${name}\n`);
  return dir;
}

async function push(ref: string, dir: string, opts: { pin?: boolean; tags?: string[] } = {}): Promise<string> {
  return (await pushKit(ref, dir, { store: false, pin: opts.pin ?? true, tags: opts.tags ?? [] })).digest;
}

function env() {
  return { KIT_STORE: path.join(work, "store"), DOCKER_CONFIG: path.join(work, "no-docker-config") };
}

function mirror(args: string[]) {
  return runKit(["mirror", ...args], { env: env() });
}

/** Requests that change the registry (anything but GET and HEAD). */
function writes(proxy: FaultProxy): string[] {
  return proxy.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD").map((r) => `${r.method} ${r.url}`);
}

/** `repo` at B holds every descriptor, each byte for byte. */
async function expectAllAt(repo: string, descriptors: readonly Descriptor[]): Promise<void> {
  for (const desc of descriptors) {
    const kind = /manifest|index/.test(desc.mediaType) ? "manifests" : "blobs";
    const res = await fetch(`${b.url}/v2/${repo}/${kind}/${desc.digest}`, { headers: { accept: ACCEPT } });
    expect(res.status, `${repo} ${kind} ${desc.digest}`).toBe(200);
    expect(`sha256:${createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex")}`).toBe(desc.digest);
  }
}

async function tagAtB(repo: string, tag: string): Promise<string | null> {
  const res = await fetch(`${b.url}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers: { accept: ACCEPT } });
  return res.status === 200 ? res.headers.get("docker-content-digest") : null;
}

async function expectNoHoles(): Promise<void> {
  const audit = await auditRegistry(b);
  expect(audit.problems).toEqual([]);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-mirror-"));
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  [toB, aliasA] = await Promise.all([startFaultProxy({ upstream: b }), startFaultProxy({ upstream: a })]);
  image = await buildImageIndex(
    { url: a.url, repo: "kit/base" },
    { platforms: ["linux/amd64", "linux/arm64"], layerSizes: [256 * 1024, 2 * MB], sharedLayerSizes: [MB], tag: "1", seed: "mirror-base" },
  );
  kitDigest = await push(`${a.host}/org/famiglia-kit:1.0.0`, await kitDir("famiglia", "1.0.0", `${a.host}/kit/base:1`));
});

afterEach(() => {
  toB?.clearRules();
  toB?.resetRequests();
});

afterAll(async () => {
  await Promise.all([toB?.stop(), aliasA?.stop()]);
  await Promise.all([a?.stop(), b?.stop()]);
});

describe("kit mirror", () => {
  it("copies a kit and its whole 2-platform image under the prefix, digests kept, both tagged", async () => {
    const result = await mirror([`${a.host}/org/famiglia-kit:1.0.0`, "--to", `${b.host}/airgap`, "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.roots.map((r: { kind: string; source: string; destination: string; tags: unknown }) => [r.kind, r.source, r.destination, r.tags])).toEqual([
      ["image", `${a.host}/kit/base:1@${image.digest}`, `${b.host}/airgap/kit/base@${image.digest}`, [{ tag: "1", current: null }]],
      ["kit", `${a.host}/org/famiglia-kit:1.0.0@${kitDigest}`, `${b.host}/airgap/org/famiglia-kit@${kitDigest}`, [{ tag: "1.0.0", current: null }]],
    ]);
    expect(doc.roots[0].stats).toMatchObject({ uploaded: image.descriptors.length, skipped: 0 });
    expect(doc.bytesTransferred).toBe(doc.bytesToTransfer);

    await expectAllAt("airgap/kit/base", image.descriptors);
    expect(await tagAtB("airgap/kit/base", "1")).toBe(image.digest);
    expect(await tagAtB("airgap/org/famiglia-kit", "1.0.0")).toBe(kitDigest);
    // skopeo reads the mirrored index exactly as published.
    expect((await skopeoBytes(["inspect", "--raw", `docker://${b.host}/airgap/kit/base:1`])).equals(image.indexBytes)).toBe(true);
    const kitManifest = await skopeoBytes(["inspect", "--raw", `docker://${b.host}/airgap/org/famiglia-kit:1.0.0`]);
    expect(`sha256:${createHash("sha256").update(kitManifest).digest("hex")}`).toBe(kitDigest);
    await expectNoHoles();

    // Run again: everything is there, nothing is uploaded.
    const again = await mirror([`${a.host}/org/famiglia-kit:1.0.0`, "--to", `${b.host}/airgap`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^mirrored 1 kit and 1 image to .*: 0 bytes transferred$/m);
  });

  it("--dry-run prints the plan and writes nothing", async () => {
    const before = await auditRegistry(b);
    const result = await mirror([`${a.host}/org/famiglia-kit:1.0.0`, "--to", `${toB.host}/dry`, "--dry-run"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`image ${a.host}/kit/base:1@${image.digest} -> ${toB.host}/dry/kit/base@${image.digest} (tag 1)`);
    expect(lines).toContain(`  upload manifest ${image.digest} ${image.index.size}`);
    for (const blob of image.blobs) expect(lines).toContain(`  upload blob     ${blob.digest} ${blob.size}`);
    expect(lines.some((l) => l.startsWith(`kit   ${a.host}/org/famiglia-kit:1.0.0@${kitDigest} -> ${toB.host}/dry/org/famiglia-kit@${kitDigest} (tag 1.0.0)`))).toBe(true);
    expect(lines.at(-1)).toMatch(new RegExp(`^would mirror 1 kit and 1 image to ${toB.host.replace(/\./g, "\\.")}/dry: \\d+ uploads, 0 mounts, \\d+ of \\d+ bytes to copy$`));
    expect(toB.requests.length).toBeGreaterThan(0);
    expect(writes(toB)).toEqual([]);
    const after = await auditRegistry(b);
    expect(after).toEqual(before);

    // Into the mirror of the first test: what exists is planned as skip, and nothing is to copy.
    const json = await mirror([`${a.host}/org/famiglia-kit:1.0.0`, "--to", `${b.host}/airgap`, "--dry-run", "--json"]);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ dryRun: true, bytesToTransfer: 0, warnings: [] });
    expect(doc.roots[0].actions).toEqual({ skip: image.descriptors.length, mount: 0, upload: 0 });
    expect(doc.roots[0].tags).toEqual([{ tag: "1", current: image.digest }]);
    expect(doc.roots[0].stats).toBeUndefined();
  });

  it("refuses an unpinned kit (exit 3) unless --allow-unpinned, which mirrors the image as its tag resolves now", async () => {
    await push(`${a.host}/org/loose-kit:1.0.0`, await kitDir("loose", "1.0.0", `${a.host}/kit/base:1`), { pin: false });
    const refused = await mirror([`${a.host}/org/loose-kit:1.0.0`, "--to", `${toB.host}/loose`]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^kit: error: .*unpinned/m);
    expect(refused.stderr).toMatch(/--allow-unpinned/);
    expect(writes(toB)).toEqual([]);

    const allowed = await mirror([`${a.host}/org/loose-kit:1.0.0`, "--to", `${toB.host}/loose`, "--allow-unpinned", "--json"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toMatch(/^kit: warning: kit .*loose-kit.* is unpinned: its image .*kit\/base:1 was resolved now, to sha256:/m);
    const doc = JSON.parse(allowed.stdout);
    expect(doc.roots[0]).toMatchObject({ kind: "image", digest: image.digest, unpinned: true, tags: [{ tag: "1", current: null }] });
    expect(doc.warnings).toHaveLength(1);
    expect(await tagAtB("loose/kit/base", "1")).toBe(image.digest);
  });

  it("killed with SIGKILL during a blob upload leaves no hole, and run again completes", async () => {
    const big = image.blobs.find((blob) => blob.size === 2 * MB)!;
    // The big layer's upload hangs at B, so the mirror cannot finish; the other blobs go through.
    const stall = toB.addRule({ method: "PUT", path: new RegExp(`digest=${encodeURIComponent(big.digest)}`), delayMs: Infinity });
    const child = spawn(process.execPath, [KIT_BIN, "mirror", `${a.host}/org/famiglia-kit:1.0.0`, "--to", `${toB.host}/killed`], {
      env: { ...process.env, ...env(), KIT_DEBUG: "" },
      stdio: "ignore",
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    const storedBlob = () => toB.requests.some((r) => r.method === "PUT" && /\/blobs\/uploads\//.test(r.url) && r.status === 201);
    for (const deadline = Date.now() + 30_000; !(stall.fired > 0 && storedBlob()); ) {
      if (Date.now() > deadline) throw new Error(`the mirror never reached the stalled upload: ${JSON.stringify(toB.requests.map((r) => [r.method, r.url, r.status]))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    // Interrupted for real: some blobs are at B, the image and the kit are not, and nothing there misses a child.
    expect((await fetch(`${b.url}/v2/killed/kit/base/manifests/${image.digest}`, { method: "HEAD", headers: { accept: ACCEPT } })).status).toBe(404);
    expect(await tagAtB("killed/org/famiglia-kit", "1.0.0")).toBeNull();
    await expectNoHoles();

    toB.clearRules();
    const again = await mirror([`${a.host}/org/famiglia-kit:1.0.0`, "--to", `${toB.host}/killed`, "--json"]);
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.roots[0].actions.skip).toBeGreaterThan(0); // what the first run stored is not sent again
    await expectAllAt("killed/kit/base", image.descriptors);
    expect(await tagAtB("killed/kit/base", "1")).toBe(image.digest);
    expect(await tagAtB("killed/org/famiglia-kit", "1.0.0")).toBe(kitDigest);
    await expectNoHoles();
  });

  it("uploads a layer two kits' images share once, mounts it into the second repository, skips it in the first again", async () => {
    // Same seed and shared layer size: one identical layer; own layers of other sizes differ.
    const x = await buildImage({ url: a.url, repo: "kit/base-x" }, { seed: "pair", sharedLayerSizes: [MB], layerSizes: [4096], tag: "1" });
    const y = await buildImage({ url: a.url, repo: "kit/base-y" }, { seed: "pair", sharedLayerSizes: [MB], layerSizes: [8192], tag: "1" });
    const kitX1 = await push(`${a.host}/org/kit-x:1.0.0`, await kitDir("kit-x", "1.0.0", `${a.host}/kit/base-x:1`));
    await push(`${a.host}/org/kit-y:1.0.0`, await kitDir("kit-y", "1.0.0", `${a.host}/kit/base-y:1`));
    // base-x:1 then moves to a second version, which kit-x 2.0.0 pins: the layer is in x's repository by the time it
    // is copied, and the tag base-x:1 is claimed at two digests.
    const x2 = await buildImage({ url: a.url, repo: "kit/base-x" }, { seed: "pair", sharedLayerSizes: [MB], layerSizes: [16384], tag: "1" });
    const kitX2 = await push(`${a.host}/org/kit-x:2.0.0`, await kitDir("kit-x", "2.0.0", `${a.host}/kit/base-x:1`));
    const shared = x.layers[0]!.digest;
    expect([y.layers[0]!.digest, x2.layers[0]!.digest]).toEqual([shared, shared]);

    const kits = ["kit-x:1.0.0", "kit-y:1.0.0", "kit-x:2.0.0"].map((k) => `${a.host}/org/${k}`);
    const result = await mirror([...kits, "--to", `${toB.host}/pair`, "--json"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `kit: warning: ${toB.host}/pair/kit/base-x:1 is named at two digests, ${x.digest} (pinned by ${kits[0]}@${kitX1}) and ${x2.digest} (pinned by ${kits[2]}@${kitX2}): it is given to the last\n`,
    );
    const uploads = (digest: string) => toB.count({ method: "PUT", path: new RegExp(`/blobs/uploads/.*digest=${encodeURIComponent(digest)}`) });
    const mounts = (digest: string) => toB.requests.filter((r) => r.method === "POST" && r.url.includes(`mount=${encodeURIComponent(digest)}`));
    expect(uploads(shared)).toBe(1);
    expect(mounts(shared).map((r) => [r.url.includes("from=pair%2Fkit%2Fbase-x"), r.status])).toEqual([[true, 201]]);
    // Every other blob went up exactly once too.
    for (const desc of [...x.descriptors, ...y.descriptors, ...x2.descriptors].filter((d) => !/manifest/.test(d.mediaType) && d.digest !== shared)) {
      expect(uploads(desc.digest), desc.digest).toBe(1);
    }
    const doc = JSON.parse(result.stdout);
    const sharedNode = (root: { plan: { nodes: Array<{ descriptor: { digest: string }; action: string }> } }) =>
      root.plan.nodes.find((n) => n.descriptor.digest === shared)?.action;
    expect(doc.roots.map((r: { kind: string; stats: { mounted: number } }) => [r.kind, r.stats.mounted, sharedNode(r as never)])).toEqual([
      ["image", 0, "upload"],
      ["kit", 0, undefined],
      ["image", 1, "mount"],
      ["kit", 0, undefined],
      ["image", 0, "skip"],
      ["kit", 0, undefined],
    ]);
    await expectAllAt("pair/kit/base-y", y.descriptors);
    expect(doc.roots.filter((r: { kind: string }) => r.kind === "image").map((r: { tags: unknown }) => r.tags)).toEqual([[], [{ tag: "1", current: null }], [{ tag: "1", current: null }]]);
    await expectAllAt("pair/kit/base-x", x2.descriptors);
    expect(await tagAtB("pair/kit/base-x", "1")).toBe(x2.digest);
    await expectNoHoles();
  });

  it("reads a kit named from the local store there, and moves a destination tag that points elsewhere, warning", async () => {
    const store = path.join(work, "store");
    const stored = await pushKit(`${a.host}/org/stored-kit:1.0.0`, await kitDir("stored", "1.0.0", `${a.host}/kit/base:1`), { store });
    // Gone from its registry: the mirror can only have it from the store.
    expect((await fetch(`${a.url}/v2/org/stored-kit/manifests/${stored.digest}`, { method: "DELETE" })).status).toBe(202);
    // The destination's kit/base:1 is some other image.
    const other = await buildImage({ url: b.url, repo: "moved/kit/base" }, { seed: "other", tag: "1" });

    const plan = await mirror(["stored:1.0.0", "--to", `${toB.host}/moved`, "--dry-run", "--json"]);
    expect(plan.code).toBe(0);
    const warning = `${toB.host}/moved/kit/base:1 points at ${other.digest} at the destination: the mirror moves it to ${image.digest}, the pinned image`;
    expect(plan.stderr).toBe(`kit: warning: ${warning}\n`);
    const doc = JSON.parse(plan.stdout);
    expect(doc.warnings).toEqual([warning]);
    expect(doc.roots.map((r: { kind: string; origin: string; source: string }) => [r.kind, r.origin, r.source])).toEqual([
      ["image", "registry", `${a.host}/kit/base:1@${image.digest}`],
      ["kit", "store", expect.stringMatching(new RegExp(`^${a.host.replace(/\./g, "\\.")}/org/stored-kit:1\\.0\\.0@sha256:`))],
    ]);
    expect(doc.roots[0].tags).toEqual([{ tag: "1", current: other.digest }]);

    const copied = await mirror(["stored:1.0.0", "--to", `${toB.host}/moved`]);
    expect(copied.code).toBe(0);
    expect(copied.stdout).toContain(`/moved/kit/base@${image.digest} (tag 1 moved from ${other.digest}; `);
    expect(await tagAtB("moved/kit/base", "1")).toBe(image.digest);
    expect(await tagAtB("moved/org/stored-kit", "1.0.0")).toBe(stored.digest);
    await expectNoHoles();
  });

  it("-f chooses kits by reference, and a repository's tags by glob and SemVer range", async () => {
    const repo = `${a.host}/org/tools-kit`;
    const digests: Record<string, string> = {};
    for (const [version, extra] of [["0.9.0", []], ["1.0.0", []], ["1.2.0", ["stable-1"]], ["2.0.0", ["latest"]], ["1.5.0-rc.1", []]] as const) {
      digests[version] = await push(`${repo}:${version}`, await kitDir("tools", version, `${a.host}/kit/base:1`), { tags: [...extra] });
    }
    const listed: string[] = [];
    for await (const tag of new RemoteRepository({ registry: a.host, repository: "org/tools-kit" }).tags()) listed.push(tag);
    expect(listed.sort()).toEqual(["0.9.0", "1.0.0", "1.2.0", "1.5.0-rc.1", "2.0.0", "latest", "stable-1"]);

    const file = path.join(work, "kits.yaml");
    await writeFile(
      file,
      `kits:\n  - ${a.host}/org/famiglia-kit:1.0.0\n  - repository: ${repo}\n    tags: ["stable-*"]\n    semver: ">=1.0.0 <2.0.0"\n  - repository: ${repo}\n    tags: ["nightly-*"]\n`,
    );
    const result = await mirror(["-f", file, "--to", `${toB.host}/listed`, "--dry-run", "--json"]);
    expect(result.stderr).toBe(`kit: warning: ${repo}: no tag matches tags ["nightly-*"]; nothing of it is mirrored\n`);
    expect(result.code).toBe(0);
    const kits = JSON.parse(result.stdout).roots.filter((r: { kind: string }) => r.kind === "kit");
    expect(kits.map((r: { digest: string; tags: Array<{ tag: string }> }) => [r.digest, r.tags.map((t) => t.tag)])).toEqual([
      [kitDigest, ["1.0.0"]],
      [digests["1.0.0"], ["1.0.0"]],
      [digests["1.2.0"], ["1.2.0", "stable-1"]],
    ]);
    expect(writes(toB)).toEqual([]);

    await writeFile(file, `kits:\n  - repository: ${repo}\n    semver: ">=1.0.0 <y"\n`);
    const bad = await mirror(["-f", file, "--to", `${toB.host}/listed`]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(new RegExp(`^kit: error: ${file.replace(/[.]/g, "\\.")}:3:13: kits\\[0\\]\\.semver: "y" is not a version`, "m"));
  });

  it("refuses two kits of different registries that would share a destination repository, before copying anything", async () => {
    const result = await mirror([`${a.host}/org/famiglia-kit:1.0.0`, `${aliasA.host}/org/famiglia-kit:1.0.0`, "--to", `${toB.host}/clash`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`kit: error: ${a.host}/org/famiglia-kit and ${aliasA.host}/org/famiglia-kit would both be mirrored as ${toB.host}/clash/org/famiglia-kit`);
    expect(result.stderr).toMatch(/drops its registry host/);
    expect(toB.requests).toEqual([]);
  });
});
