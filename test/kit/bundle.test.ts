/**
 * The bundle format's pieces without a registry: which tar entries a bundle
 * may hold, the tar writer read back by the tar reader (a sha512 name needs
 * a pax header), compression told by magic bytes, and what the verifying
 * read refuses or accepts in layouts no kit save wrote.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { detectCompression } from "../../src/kit/bundle/compression.js";
import { classifyEntry } from "../../src/kit/bundle/format.js";
import { openBundleFile } from "../../src/kit/bundle/open.js";
import { readTar } from "../../src/kit/bundle/tar-read.js";
import { TAR_END, tarFile, tarFileWriter } from "../../src/kit/bundle/tar-write.js";
import { verifyBundle } from "../../src/kit/bundle/verify.js";
import { MediaType } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { InvalidContentError, UnsupportedError } from "../../src/oras/errors.js";
import { tarOf, type TarTestEntry } from "../support/tar.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "kit-bundle-unit-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEX = "a".repeat(64);

describe("classifyEntry", () => {
  it("accepts the layout's files and directories, with or without ./", () => {
    expect(classifyEntry("oci-layout", "File")).toEqual({ kind: "oci-layout" });
    expect(classifyEntry("./index.json", "File")).toEqual({ kind: "index" });
    expect(classifyEntry(`./blobs/sha256/${HEX}`, "File")).toEqual({ kind: "blob", digest: `sha256:${HEX}` });
    for (const d of ["./", ".", "blobs/", "./blobs/sha256/", "ingest/"]) expect(classifyEntry(d, "Directory")).toEqual({ kind: "directory" });
  });

  it("refuses what could escape or is not a regular file, naming the entry", () => {
    const refusals: Array<[string, string, RegExp]> = [
      ["/etc/passwd", "File", /"\/etc\/passwd" is refused: its path is absolute/],
      ["blobs/../../x", "File", /climbs out of the layout/],
      [`blobs/sha256/${HEX}`, "SymbolicLink", /is a symbolic link/],
      [`blobs/sha256/${HEX}`, "Link", /is a hard link/],
      ["dev", "CharacterDevice", /is a character device/],
      ["fifo", "FIFO", /is a FIFO/],
      ["blobs//sha256", "File", /not in canonical form/],
      ["README.md", "File", /holds only oci-layout, index.json and blobs/],
      ["blobs/sha256/abc", "File", /a blob's name must be its digest/],
      ["other/", "Directory", /has no such directory/],
    ];
    for (const [name, type, message] of refusals) expect(() => classifyEntry(name, type), name).toThrow(message);
    expect(() => classifyEntry(`blobs/md5/${"a".repeat(32)}`, "File")).toThrow(UnsupportedError);
  });
});

describe("tar writing and reading", () => {
  it("reads back what it writes, a sha512 blob's long name through a pax header", async () => {
    const writer = await tarFileWriter();
    const data = Buffer.from("hello bundle");
    const digest = digestOf(data, "sha512");
    const name = `blobs/sha512/${digest.slice(7)}`;
    const chunks: Buffer[] = [];
    for await (const c of tarFile(writer, name, data.length, [data], "test")) chunks.push(c);
    chunks.push(TAR_END);
    const seen: Array<{ path: string; text: string }> = [];
    await readTar(Readable.from([Buffer.concat(chunks)]), "the test tar", async (entry) => {
      let text = "";
      for await (const c of entry.body) text += String(c);
      seen.push({ path: entry.path, text });
      expect(entry.layout).toEqual({ kind: "blob", digest });
    });
    expect(seen).toEqual([{ path: name, text: "hello bundle" }]);
  });

  it("refuses data of another size than the header announced", async () => {
    const writer = await tarFileWriter();
    const run = async () => {
      for await (const _ of tarFile(writer, "index.json", 10, [Buffer.from("short")], "index.json")) void _;
    };
    await expect(run()).rejects.toThrow(/size mismatch for index.json: expected 10 bytes, got 5/);
  });

  it("refuses a file that is not a tar, and a tar cut short", async () => {
    await expect(readTar(Readable.from([Buffer.from("not a tar at all".repeat(64))]), "bundle x", async () => {})).rejects.toThrow(/bundle x is not a valid tar archive/);
    const whole = tarOf([{ name: "index.json", data: Buffer.alloc(2000, 0x20) }]);
    await expect(readTar(Readable.from([whole.subarray(0, 1024)]), "bundle y", async (e) => void (await e.body.toArray()))).rejects.toThrow(/bundle y is cut short/);
  });
});

describe("detectCompression", () => {
  it("tells gzip and zstd by their magic bytes, a tar as none, and names what it cannot read", () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0]), "b")).toBe("gzip");
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), "b")).toBe("zstd");
    expect(detectCompression(Buffer.from("oci-la"), "b")).toBe("none");
    expect(() => detectCompression(Buffer.from("BZh91A"), "bundle b")).toThrow(/bundle b is compressed with bzip2/);
    expect(() => detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]), "bundle b")).toThrow(/xz/);
  });
});

/** A tiny image (config + one layer) as layout entries, with the manifest's descriptor. */
function tinyImage() {
  const layer = Buffer.from("layer bytes");
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      config: { mediaType: MediaType.ImageConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.ImageLayer, digest: digestOf(layer), size: layer.length }],
    }),
  );
  const blob = (bytes: Buffer): TarTestEntry => ({ name: `blobs/sha256/${digestOf(bytes).slice(7)}`, data: bytes });
  const desc = { mediaType: MediaType.ImageManifest, digest: digestOf(manifest), size: manifest.length };
  return { layer: blob(layer), config: blob(config), manifest: blob(manifest), desc };
}

const LAYOUT: TarTestEntry = { name: "oci-layout", data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') };

function index(entries: unknown[]): TarTestEntry {
  return { name: "index.json", data: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: entries })) };
}

async function verifyTar(entries: TarTestEntry[]) {
  const file = path.join(dir, "b.tar");
  await writeFile(file, tarOf(entries));
  return verifyBundle(await openBundleFile(file, "test"));
}

describe("verifyBundle", () => {
  it("accepts a layout whose blobs come before index.json (another tool's order)", async () => {
    const img = tinyImage();
    const named = { ...img.desc, annotations: { "org.opencontainers.image.ref.name": "r.example/app:1" } };
    const verified = await verifyTar([img.layer, img.config, img.manifest, LAYOUT, index([named])]);
    expect(verified.roots).toHaveLength(1);
    expect(verified.roots[0]!.reference).toBe("r.example/app:1");
    expect(verified.roots[0]!.nodes.map((n) => n.kind)).toEqual(["blob", "blob", "manifest"]);
    expect(verified.manifests.has(img.desc.digest)).toBe(true);
  });

  it("refuses a bundle missing a blob a manifest names, index.json twice with different contents, and a missing oci-layout", async () => {
    const img = tinyImage();
    await expect(verifyTar([LAYOUT, index([img.desc]), img.manifest, img.config])).rejects.toThrow(/is incomplete: manifest sha256:\w+ names sha256:\w+, which the bundle does not hold/);
    await expect(verifyTar([LAYOUT, index([img.desc]), index([]), img.manifest, img.config, img.layer])).rejects.toThrow(
      /bundle entry "index.json" of bundle .* is refused: the bundle holds it twice, with different contents/,
    );
    await expect(verifyTar([index([img.desc]), img.manifest, img.config, img.layer])).rejects.toThrow(InvalidContentError);
    await expect(verifyTar([index([img.desc]), img.manifest, img.config, img.layer])).rejects.toThrow(/has no oci-layout entry/);
  });

  it("accepts the same blob twice when both copies match their digest", async () => {
    const img = tinyImage();
    const verified = await verifyTar([LAYOUT, index([img.desc]), img.manifest, img.config, img.layer, img.layer]);
    expect(verified.roots[0]!.nodes).toHaveLength(3);
  });
});
