/**
 * What is attached to kits and their base images travels into the airgap: referrers (a third tool's SBOM of one
 * platform, a kit attached with --attach) and cosign's tag-named signatures (`sha256-<hex>.sig`), through kit save /
 * kit load (into an empty registry and into the store) and kit mirror, unless --no-referrers. Real docker-registry 2.8
 * instances, which have no referrers API: the fallback index is rebuilt on each destination.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Descriptor } from "../../src/oras/descriptor.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { OciLayout } from "../../src/oras/layout/index.js";
import { buildImageIndex, type BuiltImageIndex } from "../support/images.js";
import { runKit } from "../support/cli.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { pushEmptyManifest } from "../support/content.js";

let src: RunningRegistry;
let work: string;
let image: BuiltImageIndex;
let kitDigest: string;
let sbom: Descriptor;
let sig: Descriptor;
const sigTag = (digest: string) => `sha256-${digest.slice("sha256:".length)}.sig`;

const manifest = pushEmptyManifest;

beforeAll(async () => {
  src = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), "kit-airgap-attach-"));
  image = await buildImageIndex({ url: src.url, repo: "kit/base" }, { tag: "1", seed: "airgap-attachments" });
  const dir = path.join(work, "kit");
  await mkdir(dir);
  await writeFile(path.join(dir, "kit.yaml"), `name: famiglia\nversion: "1.0.0"\nimage: ${src.host}/kit/base:1\n`);
  await writeFile(path.join(dir, "README.md"), "# famiglia\n");
  const pushed = await runKit(["push", `${src.host}/org/famiglia-kit:1.0.0`, dir, "--attach", "--json"], { env: { KIT_STORE: path.join(work, "push-store") } });
  expect(pushed.code, pushed.stderr).toBe(0);
  kitDigest = (JSON.parse(pushed.stdout) as { digest: string }).digest;
  const base = new RemoteRepository({ registry: src.host, repository: "kit/base" });
  sbom = await manifest(base, { artifactType: "application/spdx+json", subject: image.images[0]!.manifest });
  // A cosign-style signature of the kit, by tag, in the kit's repository.
  sig = await manifest(new RemoteRepository({ registry: src.host, repository: "org/famiglia-kit" }), { annotations: { "dev.cosignproject.cosign/signature": "c2ln" } }, sigTag(kitDigest));
});

afterAll(async () => {
  await src?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function expectAttachmentsAt(host: string, prefix: string): Promise<void> {
  const kitRepo = new RemoteRepository({ registry: host, repository: `${prefix}org/famiglia-kit` });
  expect((await kitRepo.resolve(sigTag(kitDigest))).digest).toBe(sig.digest);
  const baseRepo = new RemoteRepository({ registry: host, repository: `${prefix}kit/base` });
  expect((await baseRepo.predecessors(image.images[0]!.manifest)).map((d) => d.digest)).toEqual([sbom.digest]);
  expect((await baseRepo.predecessors(image.index)).map((d) => d.digest)).toEqual([kitDigest]);
}

describe("attachments travel", () => {
  it("kit save → kit load --to an empty registry carries the SBOM, the attached kit and the .sig tag", async () => {
    const bundle = path.join(work, "with.tar");
    const saved = await runKit(["save", `${src.host}/org/famiglia-kit:1.0.0`, "-o", bundle, "--json"]);
    expect(saved.code, saved.stderr).toBe(0);
    const kinds = (JSON.parse(saved.stdout) as { entries: { kind: string; digest: string }[] }).entries;
    // The kit is an attachment too: of its image, in the image's repository.
    expect(kinds.filter((e) => e.kind === "attachment").map((e) => e.digest).sort()).toEqual([sbom.digest, sig.digest, kitDigest].sort());
    const dst = await startRegistry();
    try {
      const loaded = await runKit(["load", bundle, "--to", `${dst.host}/airgap`]);
      expect(loaded.code, loaded.stderr).toBe(0);
      await expectAttachmentsAt(dst.host, "airgap/");
      // Into the store: attachments are kept (gc keeps them) but are not kits.
      const store = path.join(work, "load-store");
      const intoStore = await runKit(["load", bundle], { env: { KIT_STORE: store } });
      expect(intoStore.code, intoStore.stderr).toBe(0);
      const names = (await (await OciLayout.open(store)).listReferences()).map((r) => r.name);
      expect(names).toContain(`${src.host}/org/famiglia-kit:${sigTag(kitDigest)}`);
      const ls = await runKit(["ls", "--json"], { env: { KIT_STORE: store } });
      expect((JSON.parse(ls.stdout) as { kits: { name: string; reference: string }[] }).kits.map((k) => [k.name, k.reference])).toEqual([["famiglia", `${src.host}/org/famiglia-kit:1.0.0`]]);
    } finally {
      await dst.stop();
    }
  });

  it("kit mirror carries them to the mirror, and --no-referrers leaves them", async () => {
    const dst = await startRegistry();
    try {
      const r = await runKit(["mirror", `${src.host}/org/famiglia-kit:1.0.0`, "--to", `${dst.host}/airgap`, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const kinds = (JSON.parse(r.stdout) as { roots: { kind: string }[] }).roots.map((x) => x.kind);
      expect(kinds.filter((k) => k === "attachment")).toHaveLength(3);
      await expectAttachmentsAt(dst.host, "airgap/");
      const without = await runKit(["mirror", `${src.host}/org/famiglia-kit:1.0.0`, "--to", `${dst.host}/bare`, "--no-referrers"]);
      expect(without.code, without.stderr).toBe(0);
      const bare = new RemoteRepository({ registry: dst.host, repository: "bare/kit/base" });
      expect(await bare.predecessors(image.images[0]!.manifest)).toEqual([]);
    } finally {
      await dst.stop();
    }
  });

  it("--no-referrers leaves them out", async () => {
    const bundle = path.join(work, "without.tar");
    const saved = await runKit(["save", `${src.host}/org/famiglia-kit:1.0.0`, "-o", bundle, "--no-referrers", "--json"]);
    expect(saved.code, saved.stderr).toBe(0);
    expect((JSON.parse(saved.stdout) as { entries: { kind: string }[] }).entries.map((e) => e.kind).sort()).toEqual(["image", "kit"]);
  });
});
