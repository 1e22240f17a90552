/**
 * Interoperability with skopeo (/usr/bin/skopeo): a layout we write must be
 * readable by it, and a layout it writes must be readable by us.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { OciLayout } from "../../src/oras/layout/store.js";
import { fetchAll } from "../../src/oras/verify.js";
import { readAll } from "../support/content.js";

const run = promisify(execFile);
const SKOPEO = "/usr/bin/skopeo";

/** A one-file tar archive, written by hand: a 512-byte header, the data padded to 512, two zero blocks. */
function tarOf(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

function smallImage() {
  const layer = tarOf("hello.txt", Buffer.from("hello from a layout\n"));
  const layerDesc: Descriptor = { mediaType: MediaType.ImageLayer, digest: digestOf(layer), size: layer.length };
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layerDesc.digest] }, config: {} }),
  );
  const configDesc: Descriptor = { mediaType: MediaType.ImageConfig, digest: digestOf(config), size: config.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: configDesc, layers: [layerDesc] }));
  const manifestDesc: Descriptor = { mediaType: MediaType.ImageManifest, digest: digestOf(manifest), size: manifest.length };
  return { layer, layerDesc, config, configDesc, manifest, manifestDesc };
}

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "layout-skopeo-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("skopeo interoperability", () => {
  it("skopeo reads and copies a layout we wrote, and we read the one it wrote", async () => {
    const ours = join(work, "ours");
    const theirs = join(work, "theirs");
    const img = smallImage();
    const layout = await OciLayout.open(ours, { create: true });
    await layout.push(img.layerDesc, img.layer);
    await layout.push(img.configDesc, img.config);
    await layout.push(img.manifestDesc, img.manifest);
    await layout.tag(img.manifestDesc, "v1");

    const raw = await run(SKOPEO, ["inspect", "--raw", `oci:${ours}:v1`], { encoding: "buffer" });
    expect(Buffer.from(raw.stdout).equals(img.manifest)).toBe(true);

    await run(SKOPEO, ["copy", "--quiet", "--preserve-digests", `oci:${ours}:v1`, `oci:${theirs}:copied`]);
    const copied = await OciLayout.open(theirs);
    const desc = await copied.resolve("copied");
    expect(desc.digest).toBe(img.manifestDesc.digest);
    expect(desc.mediaType).toBe(MediaType.ImageManifest);
    expect((await readAll(await copied.fetch(img.layerDesc))).equals(img.layer)).toBe(true);
  });

  it("reads a layout skopeo wrote with its own (recompressed) manifest, verifying every blob", async () => {
    const ours = join(work, "ours");
    const theirs = join(work, "theirs");
    const img = smallImage();
    const layout = await OciLayout.open(ours, { create: true });
    await layout.push(img.layerDesc, img.layer);
    await layout.push(img.configDesc, img.config);
    await layout.pushReference(img.manifestDesc, img.manifest, "v1");
    await run(SKOPEO, ["copy", "--quiet", `oci:${ours}:v1`, `oci:${theirs}:v1`]);

    const copied = await OciLayout.open(theirs);
    const desc = await copied.resolve("v1");
    expect(desc.mediaType).toBe(MediaType.ImageManifest);
    const manifest = JSON.parse((await fetchAll(copied, desc)).toString()) as { config: Descriptor; layers: Descriptor[] };
    expect(manifest.layers).toHaveLength(1);
    for (const child of [manifest.config, ...manifest.layers]) {
      expect((await fetchAll(copied, child)).length).toBe(child.size);
    }
    expect(await copied.resolve(desc.digest)).toMatchObject({ digest: desc.digest, mediaType: MediaType.ImageManifest });
  });

  it("keeps tags skopeo added to our layout when we write it again", async () => {
    const ours = join(work, "ours");
    const img = smallImage();
    const layout = await OciLayout.open(ours, { create: true });
    await layout.push(img.layerDesc, img.layer);
    await layout.push(img.configDesc, img.config);
    await layout.push(img.manifestDesc, img.manifest);
    await layout.tag(img.manifestDesc, "v1");

    await run(SKOPEO, ["copy", "--quiet", "--preserve-digests", `oci:${ours}:v1`, `oci:${ours}:by-skopeo`]);
    await layout.tag(img.manifestDesc, "v2");
    expect((await layout.resolve("by-skopeo")).digest).toBe(img.manifestDesc.digest);
    const index = JSON.parse(await readFile(join(ours, "index.json"), "utf8")) as { manifests: Descriptor[] };
    const names = index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"]).sort();
    expect(names).toEqual(["by-skopeo", "v1", "v2"]);
    const raw = await run(SKOPEO, ["inspect", "--raw", `oci:${ours}:v2`], { encoding: "buffer" });
    expect(Buffer.from(raw.stdout).equals(img.manifest)).toBe(true);
  });
});
