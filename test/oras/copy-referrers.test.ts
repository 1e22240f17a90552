/**
 * copy with referrers (kit copy -r) between real registries (distribution 2.8: no referrers API, so the
 * tag-schema fallback index on both sides) and into an OCI layout.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copy } from "../../src/oras/copy/index.js";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { OciLayout } from "../../src/oras/layout/index.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { buildImageIndex, type BuiltImageIndex } from "../support/images.js";
import { runKit } from "../support/cli.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { descriptorOf } from "../support/content.js";

let a: RunningRegistry;
let b: RunningRegistry;
let image: BuiltImageIndex;
const EMPTY = Buffer.from("{}");
const EMPTY_DESC = descriptorOf(EMPTY, MediaType.EmptyJSON);
const referrers: Record<string, Descriptor> = {};

function referrerOf(subject: Descriptor, artifactType: string, who: string): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, artifactType, config: EMPTY_DESC, layers: [EMPTY_DESC], subject, annotations: { who } }));
  return { desc: descriptorOf(bytes, MediaType.ImageManifest), bytes };
}

beforeAll(async () => {
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  image = await buildImageIndex({ url: a.url, repo: "base/app" }, { tag: "1", seed: "copy-referrers" });
  const repo = new RemoteRepository({ registry: a.host, repository: "base/app" });
  await repo.push(EMPTY_DESC, EMPTY);
  // A kit of the image, a signature of that kit, and an SBOM of one platform's manifest.
  const kit = referrerOf(image.index, "application/vnd.aegis.kit.v1", "kit");
  const sig = referrerOf(kit.desc, "application/vnd.dev.cosign.artifact.sig.v1+json", "sig of kit");
  const sbom = referrerOf(image.images[1]!.manifest, "application/spdx+json", "sbom");
  for (const [name, r] of Object.entries({ kit, sig, sbom })) {
    await repo.pushManifest(r.desc, r.bytes);
    referrers[name] = r.desc;
  }
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

const digestsOf = (list: Descriptor[]) => list.map((d) => d.digest).sort();

describe("copy with referrers", () => {
  it("carries referrers of the root, of its platform manifests and of referrers to a registry without the API", async () => {
    const src = new RemoteRepository({ registry: a.host, repository: "base/app" });
    const dst = new RemoteRepository({ registry: b.host, repository: "mirror/app" });
    const result = await copy(src, "1", dst, undefined, { referrers: true });
    expect(digestsOf(result.referrers!.map((r) => r.descriptor))).toEqual(digestsOf(Object.values(referrers)));
    // Subjects first: the kit is copied before its signature.
    const order = result.referrers!.map((r) => r.descriptor.digest);
    expect(order.indexOf(referrers.kit!.digest)).toBeLessThan(order.indexOf(referrers.sig!.digest));
    expect(digestsOf(await dst.predecessors(image.index))).toEqual([referrers.kit!.digest]);
    expect(digestsOf(await dst.predecessors(referrers.kit!))).toEqual([referrers.sig!.digest]);
    expect(digestsOf(await dst.predecessors(image.images[1]!.manifest))).toEqual([referrers.sbom!.digest]);
    // Without the option nothing else travels.
    const plain = new RemoteRepository({ registry: b.host, repository: "plain/app" });
    const without = await copy(src, "1", plain, undefined);
    expect(without.referrers).toBeUndefined();
    expect(await plain.predecessors(image.index)).toEqual([]);
  });

  it("kit copy -r into an OCI layout, where discovery then finds them", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kit-copy-r-"));
    try {
      const r = await runKit(["copy", "-r", `${a.host}/base/app:1`, `oci:${dir}:app`, "--json"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout) as { referrers: { digest: string; subject: string }[] };
      expect(doc.referrers.map((x) => x.digest).sort()).toEqual(digestsOf(Object.values(referrers)));
      const layout = await OciLayout.open(dir);
      expect(digestsOf(await layout.predecessors(referrers.kit!))).toEqual([referrers.sig!.digest]);
      expect(digestsOf(await layout.predecessors(image.index))).toEqual([referrers.kit!.digest]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
