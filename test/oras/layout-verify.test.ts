/**
 * OciLayout.verify() on real layouts in a temp directory: each kind of damage
 * is reported with the digest it concerns, nothing is thrown for it, and the
 * layout is left exactly as it was.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { OciLayout } from "../../src/oras/layout/store.js";
import { layoutReportError } from "../../src/oras/layout/verify-layout.js";
import { descriptorOf } from "../support/content.js";
import { treeSnapshot } from "../support/tree.js";

let dir: string;
let layout: OciLayout;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "layout-verify-"));
  layout = await OciLayout.open(dir, { create: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Pushed {
  desc: Descriptor;
  bytes: Buffer;
}

async function pushBlob(bytes: string | Buffer, mediaType: string = MediaType.ImageLayer): Promise<Pushed> {
  const desc = descriptorOf(bytes, mediaType);
  await layout.push(desc, Buffer.from(bytes));
  return { desc, bytes: Buffer.from(bytes) };
}

/** An image (config + layers) pushed and tagged; layers given as descriptors may be left unpushed. */
async function pushImage(seed: string, tag: string, extraLayers: Descriptor[] = []) {
  const config = await pushBlob(JSON.stringify({ seed }), MediaType.ImageConfig);
  const layer = await pushBlob(`layer of ${seed}`);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: config.desc, layers: [layer.desc, ...extraLayers] }),
  );
  const desc = descriptorOf(manifest, MediaType.ImageManifest);
  await layout.pushReference(desc, manifest, tag);
  return { config, layer, manifest: { desc, bytes: manifest } };
}

function blobFile(digest: string): string {
  return join(dir, "blobs", ...digest.split(":"));
}

describe("OciLayout.verify", () => {
  it("reports nothing on an intact layout, counting what it checked", async () => {
    const img = await pushImage("clean", "v1");
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [img.manifest.desc] }));
    await layout.pushReference(descriptorOf(index, MediaType.ImageIndex), index, "all");
    const report = await layout.verify();
    expect(report).toEqual({
      blobs: 4,
      bytes: img.config.bytes.length + img.layer.bytes.length + img.manifest.bytes.length + index.length,
      manifests: 2,
      problems: [],
    });
    expect(layoutReportError(report, layout.name)).toBeUndefined();
  });

  it("names a blob whose bytes no longer match its digest, and fails with DIGEST_MISMATCH", async () => {
    const img = await pushImage("flip", "v1");
    const file = blobFile(img.layer.desc.digest);
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(file, bytes);
    const report = await layout.verify();
    expect(report.problems).toEqual([
      { problem: "digest-mismatch", digest: img.layer.desc.digest, actual: descriptorOf(bytes).digest, message: `digest mismatch: its bytes hash to ${descriptorOf(bytes).digest}` },
    ]);
    const err = layoutReportError(report, layout.name);
    expect(err?.code).toBe("DIGEST_MISMATCH");
    expect(err?.message).toBe(`${layout.name} failed verification: 1 problem (1 digest mismatch)`);
  });

  it("names the manifest a missing child belongs to, and the index entry a missing manifest had", async () => {
    const a = await pushImage("a", "a");
    const b = await pushImage("b", "b");
    await rm(blobFile(a.config.desc.digest));
    await rm(blobFile(b.manifest.desc.digest));
    const report = await layout.verify();
    expect(report.problems).toEqual([
      {
        problem: "missing-child",
        digest: a.config.desc.digest,
        manifest: a.manifest.desc.digest,
        role: "config",
        message: `missing: the config of manifest ${a.manifest.desc.digest}`,
      },
      { problem: "missing-entry-target", digest: b.manifest.desc.digest, reference: "b", message: 'missing: the index.json entry "b" names it' },
    ]);
    expect(layoutReportError(report, layout.name)?.code).toBe("DIGEST_MISMATCH");
  });

  it("reports a descriptor that claims the wrong size for an intact blob", async () => {
    const img = await pushImage("size", "v1");
    // The index already names the digest, so tag() records the descriptor as given.
    await layout.tag({ ...img.manifest.desc, size: img.manifest.desc.size + 1 }, "wrong");
    const report = await layout.verify();
    expect(report.problems).toEqual([
      {
        problem: "size-mismatch",
        digest: img.manifest.desc.digest,
        expected: img.manifest.desc.size + 1,
        actual: img.manifest.desc.size,
        reference: "wrong",
        message: `size mismatch: the index.json entry "wrong" says ${img.manifest.desc.size + 1} bytes, the blob has ${img.manifest.desc.size}`,
      },
    ]);
    expect(layoutReportError(report, layout.name)?.code).toBe("SIZE_MISMATCH");
  });

  it("reports a stored manifest that does not parse, strictly, without failing the walk", async () => {
    const bogus = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, layers: [] }));
    await layout.pushReference(descriptorOf(bogus, MediaType.ImageManifest), bogus, "bogus");
    await pushImage("good", "good");
    const report = await layout.verify();
    expect(report.problems).toEqual([
      { problem: "unparseable-manifest", digest: descriptorOf(bogus).digest, message: `unparseable manifest: manifest ${descriptorOf(bogus).digest}: "config" is missing or not an object` },
    ]);
    expect(report.manifests).toBe(1);
    expect(report.blobs).toBe(4);
    expect(layoutReportError(report, layout.name)?.code).toBe("INVALID_CONTENT");
  });

  it("accepts a missing non-distributable layer: copy leaves those at their source", async () => {
    const foreign = { ...descriptorOf("foreign layer"), mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar" };
    await pushImage("foreign", "v1", [foreign]);
    expect((await layout.verify()).problems).toEqual([]);
  });

  it("changes nothing in the layout, damaged or not", async () => {
    const img = await pushImage("still", "v1");
    await rm(blobFile(img.config.desc.digest));
    const before = await treeSnapshot(dir);
    const reopened = await OciLayout.open(dir);
    expect((await reopened.verify()).problems).toHaveLength(1);
    expect(await treeSnapshot(dir)).toEqual(before);
  });
});
