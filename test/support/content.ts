/** Small content helpers shared by the tests: descriptors for bytes, draining streams and iterables, a one-manifest layout. */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";

/** The descriptor of bytes already in memory. */
export function descriptorOf(bytes: Uint8Array | string, mediaType = "application/octet-stream"): Descriptor {
  const buffer = Buffer.from(bytes);
  return { mediaType, digest: digestOf(buffer), size: buffer.length };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** An OCI layout (in a new temp dir) holding one image manifest of about `size` bytes (a large annotation makes it big). */
export async function layoutWithManifest(size: number): Promise<{ dir: string; digest: string; bytes: Buffer; descriptor: Descriptor }> {
  const dir = await mkdtemp(path.join(tmpdir(), "kit-output-"));
  const config = Buffer.from("{}");
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: digestOf(config), size: config.length },
    layers: [],
    annotations: { "org.example.padding": "x".repeat(size) },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  await mkdir(path.join(dir, "blobs/sha256"), { recursive: true });
  await writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(path.join(dir, "blobs/sha256", digest.slice(7)), bytes);
  await writeFile(path.join(dir, "blobs/sha256", digestOf(config).slice(7)), config);
  await writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: manifest.mediaType, digest, size: bytes.length }] }),
  );
  return { dir, digest, bytes, descriptor: { mediaType: manifest.mediaType, digest, size: bytes.length } };
}



const EMPTY = Buffer.from("{}");

/**
 * Push an image manifest whose config and one layer are the empty JSON blob, with `body`'s fields added
 * (artifactType, subject, annotations), as a third tool attaching something would; tagged when `tag` is given.
 */
export async function pushEmptyManifest(
  repo: { push(desc: Descriptor, bytes: Uint8Array): Promise<unknown>; pushManifest(desc: Descriptor, bytes: Uint8Array, opts?: { tag?: string }): Promise<unknown> },
  body: Record<string, unknown>,
  tag?: string,
): Promise<Descriptor> {
  const empty = descriptorOf(EMPTY, MediaType.EmptyJSON);
  await repo.push(empty, EMPTY);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: empty, layers: [empty], ...body }));
  const desc = descriptorOf(bytes, MediaType.ImageManifest);
  await repo.pushManifest(desc, bytes, tag !== undefined ? { tag } : {});
  return desc;
}
