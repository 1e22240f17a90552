/** Small content helpers shared by the tests: descriptors for bytes, and draining streams and iterables. */
import type { Readable } from "node:stream";
import type { Descriptor } from "../../src/oras/descriptor.js";
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
