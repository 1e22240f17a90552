/**
 * Planning a bundle or a mirror with attachments reads each manifest once: the graph read to find what is attached
 * to a root is the graph planned for it. Counted at a fault proxy in front of a real docker-registry 2.8 (no referrers
 * API): every GET of a manifest by digest, per digest.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planBundle } from "../../src/kit/bundle/save-plan.js";
import { mirrorKits } from "../../src/kit/mirror.js";
import type { Descriptor } from "../../src/oras/descriptor.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { buildImageIndex, type BuiltImageIndex } from "../support/images.js";
import { runKit } from "../support/cli.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { pushEmptyManifest } from "../support/content.js";

let src: RunningRegistry;
let dst: RunningRegistry;
let proxy: FaultProxy;
let work: string;
let image: BuiltImageIndex;
let kitRef: string;
let kitDigest: string;
let sbom: Descriptor;
let sig: Descriptor;

const manifest = pushEmptyManifest;

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startFaultProxy({ upstream: src });
  work = await mkdtemp(path.join(tmpdir(), "kit-attach-plans-"));
  // Everything is named through the proxy, so every read of the source is counted.
  image = await buildImageIndex({ url: proxy.url, repo: "kit/base" }, { tag: "1", seed: "attachment-plans" });
  const dir = path.join(work, "kit");
  await mkdir(dir);
  await writeFile(path.join(dir, "kit.yaml"), `name: once\nversion: "1.0.0"\nimage: ${proxy.host}/kit/base:1\n`);
  await writeFile(path.join(dir, "README.md"), "# once\n");
  kitRef = `${proxy.host}/org/once-kit:1.0.0`;
  const pushed = await runKit(["push", kitRef, dir, "--attach", "--json"], { env: { KIT_STORE: path.join(work, "push-store") } });
  expect(pushed.code, pushed.stderr).toBe(0);
  kitDigest = (JSON.parse(pushed.stdout) as { digest: string }).digest;
  const base = new RemoteRepository({ registry: proxy.host, repository: "kit/base" });
  sbom = await manifest(base, { artifactType: "application/spdx+json", subject: image.images[0]!.manifest });
  const kitRepo = new RemoteRepository({ registry: proxy.host, repository: "org/once-kit" });
  sig = await manifest(kitRepo, { annotations: { "dev.cosignproject.cosign/signature": "c2ln" } }, `sha256-${kitDigest.slice("sha256:".length)}.sig`);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([src?.stop(), dst?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** GETs of manifests by digest since the last reset, per path (repository and digest). */
function manifestGets(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of proxy.requests) {
    if (r.method !== "GET" || !/\/manifests\/sha256:[0-9a-f]{64}$/.test(r.url)) continue;
    out[r.url] = (out[r.url] ?? 0) + 1;
  }
  return out;
}

/**
 * Every manifest of the image (index and platforms) and every attachment, each fetched once. A bundle reads the kit
 * once, a mirror from each repository it is copied from (its own, and its image's, where it is attached).
 */
function expectEachFetchedOnce(gets: Record<string, number>, kitFromImageRepository: boolean): void {
  const base = [image.index, ...image.images.map((i) => i.manifest), sbom].map((d) => `/v2/kit/base/manifests/${d.digest}`);
  const wanted = [...base, `/v2/org/once-kit/manifests/${kitDigest}`, `/v2/org/once-kit/manifests/${sig.digest}`];
  if (kitFromImageRepository) wanted.push(`/v2/kit/base/manifests/${kitDigest}`);
  expect(Object.keys(gets).sort()).toEqual(wanted.sort());
  expect(Object.values(gets).every((n) => n === 1), JSON.stringify(gets)).toBe(true);
}

describe("attachment plans are made once", () => {
  it("kit save's plan fetches every manifest of a root once, attachments found", async () => {
    proxy.resetRequests();
    const plan = await planBundle([kitRef], { store: path.join(work, "store") });
    expect(plan.roots.filter((r) => r.kind === "attachment").map((r) => r.descriptor.digest).sort()).toEqual([sbom.digest, sig.digest, kitDigest].sort());
    expectEachFetchedOnce(manifestGets(), false);
  });

  it("kit mirror's plan fetches every manifest of a root once, attachments found", async () => {
    proxy.resetRequests();
    const plan = await mirrorKits([kitRef], `${dst.host}/m`, { store: path.join(work, "store") });
    expect(plan.roots.filter((r) => r.kind === "attachment").map((r) => r.digest).sort()).toEqual([sbom.digest, sig.digest, kitDigest].sort());
    expectEachFetchedOnce(manifestGets(), true);
  });
});
