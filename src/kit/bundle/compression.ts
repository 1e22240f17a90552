/**
 * A bundle's compression: none, gzip, or zstd where the running Node's zlib
 * has it (Node 22.15 and 23.8 added it). Written as asked; read by the magic
 * bytes at the start of the file, whatever the file is called.
 */
import type { Transform } from "node:stream";
import zlib from "node:zlib";
import { UnsupportedError, UsageError } from "../../oras/content.js";

export type BundleCompression = "none" | "gzip" | "zstd";
export const BUNDLE_COMPRESSIONS: readonly BundleCompression[] = ["none", "gzip", "zstd"];

const ZSTD_NODE = "Node.js 22.15 or later (or 23.8 or later)";

/** node:zlib's zstd streams, typed here: @types/node 20 does not know them. */
interface ZstdZlib {
  createZstdCompress?: () => Transform;
  createZstdDecompress?: () => Transform;
}

export function zstdAvailable(): boolean {
  return typeof (zlib as unknown as ZstdZlib).createZstdCompress === "function";
}

/** Refuse a compression this process cannot write, before any work is done. */
export function checkCompression(kind: string): BundleCompression {
  if (!(BUNDLE_COMPRESSIONS as readonly string[]).includes(kind)) {
    throw new UsageError(`invalid --compress "${kind}": use none, gzip or zstd`);
  }
  if (kind === "zstd" && !zstdAvailable()) {
    throw new UsageError(`--compress zstd needs ${ZSTD_NODE}, whose zlib has zstd; this is Node.js ${process.version}`, {
      hint: "use --compress gzip, or run kit on a newer Node.js",
    });
  }
  return kind as BundleCompression;
}

/** The stream that compresses a bundle as it is written; undefined for none. */
export function compressor(kind: BundleCompression): Transform | undefined {
  if (kind === "gzip") return zlib.createGzip();
  if (kind === "zstd") return (zlib as unknown as Required<ZstdZlib>).createZstdCompress();
  return undefined;
}

/** Bytes the start of a file must hold to tell its compression. */
export const MAGIC_BYTES = 6;

/** The compression the first bytes of a bundle show; a plain tar is "none". */
export function detectCompression(head: Uint8Array, where: string): BundleCompression {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return "gzip";
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (starts(0x42, 0x5a, 0x68)) throw new UnsupportedError(`${where} is compressed with bzip2, which kit does not read`, { hint: "decompress it (bunzip2), or save it with --compress gzip" });
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) throw new UnsupportedError(`${where} is compressed with xz, which kit does not read`, { hint: "decompress it (unxz), or save it with --compress gzip" });
  return "none";
}

/** The stream that undoes `kind`; undefined for none. */
export function decompressor(kind: BundleCompression, where: string): Transform | undefined {
  if (kind === "gzip") return zlib.createGunzip();
  if (kind === "zstd") {
    if (!zstdAvailable()) {
      throw new UnsupportedError(`${where} is compressed with zstd, which needs ${ZSTD_NODE}; this is Node.js ${process.version}`, {
        hint: "decompress it first (zstd -d), or run kit on a newer Node.js",
      });
    }
    return (zlib as unknown as Required<ZstdZlib>).createZstdDecompress();
  }
  return undefined;
}
