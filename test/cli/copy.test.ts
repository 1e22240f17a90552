/**
 * kit copy / resolve / tags / manifest against real registries and skopeo:
 * every round trip is checked byte for byte by digest.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciLayout } from "../../src/oras/layout/store.js";
import { runKit } from "../support/cli.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage, buildImageIndex, skopeo, skopeoBytes, type BuiltImageIndex } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const MB = 1024 * 1024;
let a: RunningRegistry;
let b: RunningRegistry;
let image: BuiltImageIndex;

beforeAll(async () => {
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  // Two platforms, tens of MB of random layers, one layer shared between them.
  image = await buildImageIndex(
    { url: a.url, repo: "src/app" },
    { platforms: ["linux/amd64", "linux/arm64"], layerSizes: [2 * MB, 12 * MB], sharedLayerSizes: [6 * MB], tag: "v1", seed: "copy-cli" },
  );
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "kit-copy-"));
}

/** Every descriptor of the fixture is present at `repo` with exactly its bytes. */
async function expectComplete(registry: RunningRegistry, repo: string): Promise<void> {
  for (const desc of image.descriptors) {
    const kind = desc.mediaType.includes("manifest") || desc.mediaType.includes("index") ? "manifests" : "blobs";
    const res = await fetch(`${registry.url}/v2/${repo}/${kind}/${desc.digest}`, {
      headers: { accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" },
    });
    expect(res.status, `${kind} ${desc.digest}`).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(desc.digest);
  }
}

describe("kit copy", () => {
  it("copies a 2-platform index registry to registry, every digest preserved", async () => {
    const result = await runKit(["copy", `${a.host}/src/app:v1`, `${b.host}/mirror/app:v1`]);
    expect(result.stderr).toBe("");
    expect(result).toMatchObject({ code: 0, stdout: `${image.digest}\n` });
    await expectComplete(b, "mirror/app");
    const raw = await skopeoBytes(["inspect", "--raw", `docker://${b.host}/mirror/app:v1`]);
    expect(raw.equals(image.indexBytes)).toBe(true);
  });

  it("goes registry → layout → registry, and skopeo reads the layout", async () => {
    const dir = await tempDir();
    const toLayout = await runKit(["copy", `${a.host}/src/app@${image.digest}`, `oci:${dir}:v1`]);
    expect(toLayout).toMatchObject({ code: 0, stdout: `${image.digest}\n` });
    const raw = await skopeoBytes(["inspect", "--raw", `oci:${dir}:v1`]);
    expect(raw.equals(image.indexBytes)).toBe(true);
    await skopeo(["copy", "--all", "--preserve-digests", `oci:${dir}:v1`, `oci:${await tempDir()}:copy`]);

    const back = await runKit(["copy", `oci:${dir}:v1`, `${b.host}/roundtrip/app:v1`]);
    expect(back).toMatchObject({ code: 0, stdout: `${image.digest}\n` });
    await expectComplete(b, "roundtrip/app");
  });

  it("copies a layout written by skopeo copy --all into a registry", async () => {
    const dir = await tempDir();
    await skopeo(["copy", "--all", "--preserve-digests", `docker://${a.host}/src/app:v1`, `oci:${dir}:from-skopeo`]);
    const result = await runKit(["copy", `oci:${dir}:from-skopeo`, `${b.host}/from-skopeo/app:v2`]);
    expect(result).toMatchObject({ code: 0, stdout: `${image.digest}\n` });
    await expectComplete(b, "from-skopeo/app");
    expect((await runKit(["resolve", `${b.host}/from-skopeo/app:v2`])).stdout).toBe(`${b.host}/from-skopeo/app@${image.digest}\n`);
  });

  it("heals a partial mirror: a present manifest does not prove its children", async () => {
    const dst = `${b.host}/partial/app:v1`;
    expect((await runKit(["copy", `${a.host}/src/app:v1`, dst])).code).toBe(0);
    const victim = image.images[1]!.layers.at(-1)!;
    const del = await fetch(`${b.url}/v2/partial/app/blobs/${victim.digest}`, { method: "DELETE" });
    expect(del.status).toBe(202);
    const plan = await runKit(["copy", `${a.host}/src/app:v1`, dst, "--dry-run", "--json"]);
    expect(plan.code).toBe(0);
    const nodes = JSON.parse(plan.stdout).plan.nodes as { action: string; descriptor: { digest: string } }[];
    expect(nodes.filter((n) => n.action !== "skip").map((n) => n.descriptor.digest)).toEqual([victim.digest]);
    expect((await runKit(["copy", `${a.host}/src/app:v1`, dst])).code).toBe(0);
    await expectComplete(b, "partial/app");
  });

  it("--dry-run copies nothing and prints the plan", async () => {
    const result = await runKit(["copy", `${a.host}/src/app:v1`, `${b.host}/dry/app:v1`, "--dry-run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^upload +blob +sha256:/m);
    expect(result.stdout.trim().split("\n").at(-1)).toBe(image.digest);
    expect((await runKit(["resolve", `${b.host}/dry/app:v1`])).code).toBe(5);
  });

  it("plans a dry run into a layout that does not exist yet, and creates nothing", async () => {
    const dir = path.join(await tempDir(), "new-layout");
    const result = await runKit(["copy", `${a.host}/src/app:v1`, `oci:${dir}:v1`, "--dry-run", "--json"]);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout).plan;
    expect(plan.nodes.every((n: { action: string }) => n.action === "upload")).toBe(true);
    expect(plan.nodes).toHaveLength(image.descriptors.length);
    expect(existsSync(dir)).toBe(false);
  });

  it("mounts blobs from the source repository within one registry instead of uploading them", async () => {
    const proxy = await startFaultProxy({ upstream: a.url });
    try {
      const result = await runKit(["copy", `${proxy.host}/src/app:v1`, `${proxy.host}/mounted/app:v1`]);
      expect(result).toMatchObject({ code: 0, stdout: `${image.digest}\n` });
      const mounts = proxy.requests.filter((r) => r.method === "POST" && /[?&]mount=/.test(r.url) && /[?&]from=src%2Fapp|from=src\/app/.test(r.url));
      expect(mounts.length).toBe(image.blobs.length);
      expect(proxy.count({ method: "PATCH" }) + proxy.requests.filter((r) => r.method === "PUT" && /\/blobs\/uploads\//.test(r.url)).length).toBe(0);
    } finally {
      await proxy.stop();
    }
    await expectComplete(a, "mounted/app");
  });

  it("refuses a tag and digest that disagree, and a bad --concurrency", async () => {
    const other = `sha256:${"0".repeat(64)}`;
    const mismatch = await runKit(["copy", `${a.host}/src/app:v1@${other}`, `oci:${await tempDir()}:x`]);
    expect(mismatch.code).not.toBe(0);
    const bad = await runKit(["copy", `${a.host}/src/app:v1`, `oci:${await tempDir()}:x`, "--concurrency", "0"]);
    expect(bad.code).toBe(2);
  });

  it("exits 5 for a missing tag and 2 for an invalid reference", async () => {
    const missing = await runKit(["copy", `${a.host}/src/app:nope`, `oci:${await tempDir()}:x`]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/^kit: error: .*nope/m);
    const invalid = await runKit(["copy", `${a.host}/Src/App:v1`, `oci:${await tempDir()}:x`]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/lowercase/);
  });

  it("copies a 40-layer image into a layout and another registry without a MaxListenersExceededWarning", async () => {
    const many = await buildImage({ url: a.url, repo: "src/many" }, { tag: "v1", seed: "forty-layers", layerSizes: Array.from({ length: 40 }, (_, i) => 512 + i) });
    const dir = await tempDir();
    for (const [dst, extra] of [
      [`oci:${dir}:v1`, []],
      [`${b.host}/mirror/many:v1`, []],
      [`${b.host}/mirror/many16:v1`, ["--concurrency", "16"]],
    ] as const) {
      const result = await runKit(["copy", `${a.host}/src/many:v1`, dst, ...extra]);
      expect(result, dst).toEqual({ code: 0, stdout: `${many.digest}\n`, stderr: "" });
    }
  });

  it("takes Helm's oci://HOST/REPO as the registry reference, never as a layout path", async () => {
    const cwd = await tempDir();
    const result = await runKit(["copy", `oci://${a.host}/src/app:v1`, `oci://${b.host}/helm/app:v1`], { cwd });
    expect(result).toMatchObject({ code: 0, stdout: `${image.digest}\n` });
    expect((await runKit(["resolve", `${b.host}/helm/app:v1`])).stdout).toBe(`${b.host}/helm/app@${image.digest}\n`);
    expect(existsSync(`/${a.host}`) || existsSync(`/${b.host}`) || existsSync(path.join(cwd, a.host))).toBe(false);
  });

  it("refuses other URL schemes with exit 2, naming the reference to write", async () => {
    for (const url of [`http://${a.host}/src/app:v1`, `https://${a.host}/src/app:v1`]) {
      const result = await runKit(["resolve", url]);
      expect(result.code, url).toBe(2);
      expect(result.stderr).toContain(`a reference has no URL scheme; write ${a.host}/src/app:v1`);
    }
  });

  it("exits 3 for a digest of an unsupported algorithm and 2 for one that does not parse (spec/cli.md)", async () => {
    const md5 = await runKit(["resolve", `${a.host}/src/app@md5:${"d".repeat(32)}`]);
    expect(md5.code).toBe(3);
    expect(md5.stderr).toMatch(/unsupported digest algorithm "md5"/);
    expect((await runKit(["resolve", `${a.host}/src/app@sha256:abc`])).code).toBe(2);
    expect((await runKit(["copy", `oci:${await tempDir()}@md5:${"d".repeat(32)}`, `oci:${await tempDir()}`])).code).toBe(3);
  });
});

describe("kit resolve, tags, manifest", () => {
  it("resolve prints REGISTRY/REPO@DIGEST, and --json the descriptor", async () => {
    expect((await runKit(["resolve", `${a.host}/src/app:v1`])).stdout).toBe(`${a.host}/src/app@${image.digest}\n`);
    const json = JSON.parse((await runKit(["resolve", `${a.host}/src/app:v1`, "--json"])).stdout);
    expect(json).toEqual({ reference: `${a.host}/src/app@${image.digest}`, digest: image.digest, mediaType: image.index.mediaType, size: image.indexBytes.length, endpoint: `${a.host}/src/app` });
  });

  it("manifest prints the exact stored bytes", async () => {
    const result = await runKit(["manifest", `${a.host}/src/app:v1`]);
    expect(result.code).toBe(0);
    expect(Buffer.from(result.stdout).equals(image.indexBytes)).toBe(true);
  });

  it("tags lists one per line, and --json", async () => {
    for (const t of ["v2", "v3"]) expect((await runKit(["copy", `${a.host}/src/app:v1`, `${a.host}/src/app:${t}`])).code).toBe(0);
    expect((await runKit(["tags", `${a.host}/src/app`])).stdout.split("\n").filter(Boolean).sort()).toEqual(["v1", "v2", "v3"]);
    expect(JSON.parse((await runKit(["tags", `${a.host}/src/app`, "--json"])).stdout).tags.sort()).toEqual(["v1", "v2", "v3"]);
  });

  it("works on oci: layouts too", async () => {
    const dir = await tempDir();
    await runKit(["copy", `${a.host}/src/app:v1`, `oci:${dir}:v1`]);
    expect((await runKit(["resolve", `oci:${dir}:v1`])).stdout).toBe(`oci:${dir}@${image.digest}\n`);
    expect((await runKit(["tags", `oci:${dir}`])).stdout).toBe("v1\n");
    expect(Buffer.from((await runKit(["manifest", `oci:${dir}:v1`])).stdout).equals(image.indexBytes)).toBe(true);
  });

  it("resolve of a layout blob that is not a manifest exits 3, also when its bytes are not UTF-8", async () => {
    const dir = await tempDir();
    const layout = await OciLayout.open(dir, { create: true });
    const bytes = Buffer.from([0xff, 0xfe, 0x00]);
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    await layout.push({ mediaType: "application/octet-stream", digest, size: bytes.length }, bytes);
    const result = await runKit(["resolve", `oci:${dir}@${digest}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(new RegExp(`^kit: error: ${digest} in oci:.* is not a manifest$`, "m"));
    expect(result.stderr).not.toMatch(/digest mismatch/);
  });
});

describe("faults", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ upstream: a.url });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it("retries a 503 with Retry-After and then succeeds", async () => {
    const rule = proxy.addRule({ path: /\/manifests\/v1$/, status: 503, headers: { "Retry-After": "1" }, times: 2 });
    const result = await runKit(["resolve", `${proxy.host}/src/app:v1`]);
    expect(result).toMatchObject({ code: 0, stdout: `${proxy.host}/src/app@${image.digest}\n` });
    expect(rule.fired).toBe(2);
  });

  it("refuses a corrupted blob with exit 4 and leaves nothing under its digest", async () => {
    const victim = image.images[0]!.layers[0]!;
    proxy.addRule({ method: "GET", path: new RegExp(`/blobs/${victim.digest}$`), corruptBody: true, times: Infinity });
    const dir = await tempDir();
    const result = await runKit(["copy", `${proxy.host}/src/app:v1`, `oci:${dir}:v1`]);
    proxy.clearRules();
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/digest mismatch/);
    expect(result.stderr).toContain(`kit: error: copy: reading from the source ${proxy.host}/src/app: `);
    expect(existsSync(path.join(dir, "blobs", "sha256", victim.digest.slice(7)))).toBe(false);
    const index = existsSync(path.join(dir, "index.json")) ? JSON.parse(await readFile(path.join(dir, "index.json"), "utf8")) : { manifests: [] };
    expect(index.manifests.map((m: { digest: string }) => m.digest)).not.toContain(image.digest);
  });

  it("says whether the source or the destination failed, with the usual exit codes", async () => {
    const victim = image.images[0]!.layers[0]!;
    proxy.addRule({
      method: "GET",
      path: new RegExp(`/blobs/${victim.digest}$`),
      status: 404,
      body: JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to registry" }] }),
      times: Infinity,
    });
    const missing = await runKit(["copy", `${proxy.host}/src/app:v1`, `oci:${await tempDir()}:v1`]);
    proxy.clearRules();
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain(`kit: error: copy: reading from the source ${proxy.host}/src/app: blob ${victim.digest} not found`);

    proxy.addRule({
      method: "POST",
      path: /^\/v2\/refusing\/app\/blobs\/uploads\//,
      status: 403,
      body: JSON.stringify({ errors: [{ code: "DENIED", message: "requested access to the resource is denied" }] }),
      times: Infinity,
    });
    const refused = await runKit(["copy", `${a.host}/src/app:v1`, `${proxy.host}/refusing/app:v1`]);
    proxy.clearRules();
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain(`kit: error: copy: writing to the destination ${proxy.host}/refusing/app: ${proxy.host} denied push access`);
    expect(refused.stderr).toContain("DENIED: requested access to the resource is denied");
  });

  it("refuses a lying Docker-Content-Digest with exit 4", async () => {
    proxy.addRule({ method: "GET", path: /\/manifests\/v1$/, replaceHeader: { "Docker-Content-Digest": `sha256:${"1".repeat(64)}` }, times: Infinity });
    const result = await runKit(["manifest", `${proxy.host}/src/app:v1`]);
    proxy.clearRules();
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/digest mismatch/);
  });
});
