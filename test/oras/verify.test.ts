import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import type { Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { DigestMismatchError, InvalidContentError, SizeLimitError, SizeMismatchError } from "../../src/oras/errors.js";
import type { ReadOnlyStorage } from "../../src/oras/target.js";
import { fetchAll, readAllLimited, verifyBytes, verifyingStream } from "../../src/oras/verify.js";
import { readAll as collect } from "../support/content.js";

function descOf(bytes: Buffer, mediaType = "application/octet-stream"): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.length };
}

function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

describe("verifyingStream", () => {
  const bytes = Buffer.from("hello, verified world\n".repeat(1000));

  it("passes matching content through unchanged and records its digest", async () => {
    const v = verifyingStream(descOf(bytes), "test blob");
    const sink = new PassThrough();
    const [, out] = await Promise.all([pipeline(chunked(bytes, 777), v, sink), collect(sink)]);
    expect(out.equals(bytes)).toBe(true);
    expect(v.digest).toBe(digestOf(bytes));
    expect(v.bytes).toBe(bytes.length);
  });

  it("verifies sha512 descriptors with sha512", async () => {
    const desc = { mediaType: "x", digest: digestOf(bytes, "sha512"), size: bytes.length };
    const v = verifyingStream(desc, "sha512 blob");
    await pipeline(chunked(bytes, 4096), v, new PassThrough().resume());
    expect(v.digest).toBe(desc.digest);
  });

  it("fails with DigestMismatchError naming the content when one byte differs", async () => {
    const bad = Buffer.from(bytes);
    bad[100] = bad[100]! ^ 1;
    const run = pipeline(chunked(bad, 1000), verifyingStream(descOf(bytes), "blob X from here"), new PassThrough().resume());
    await expect(run).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(
      pipeline(chunked(bad, 1000), verifyingStream(descOf(bytes), "blob X from here"), new PassThrough().resume()),
    ).rejects.toThrow(/blob X from here/);
  });

  it("fails with SizeMismatchError when the content is short", async () => {
    const run = pipeline(chunked(bytes.subarray(0, 10), 3), verifyingStream(descOf(bytes), "short"), new PassThrough().resume());
    await expect(run).rejects.toBeInstanceOf(SizeMismatchError);
  });

  it("cuts off an oversized, endless body as soon as it passes the declared size", async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024, 7));
      },
    });
    const run = pipeline(endless, verifyingStream({ mediaType: "x", digest: digestOf("x"), size: 4096 }, "endless"), new PassThrough().resume());
    await expect(run).rejects.toBeInstanceOf(SizeMismatchError);
    expect(produced).toBeLessThan(1024 * 1024);
  });

  it("rejects a descriptor with an invalid size", () => {
    expect(() => verifyingStream({ mediaType: "x", digest: digestOf("x"), size: -1 }, "neg")).toThrow(InvalidContentError);
    expect(() => verifyingStream({ mediaType: "x", digest: digestOf("x"), size: 1.5 }, "frac")).toThrow(InvalidContentError);
  });
});

describe("verifyBytes", () => {
  it("accepts matching bytes and rejects size and digest mismatches", () => {
    const b = Buffer.from("abc");
    expect(() => verifyBytes(descOf(b), b, "abc")).not.toThrow();
    expect(() => verifyBytes(descOf(b), Buffer.from("abcd"), "abc")).toThrow(SizeMismatchError);
    expect(() => verifyBytes(descOf(b), Buffer.from("abd"), "abc")).toThrow(DigestMismatchError);
  });
});

describe("readAllLimited", () => {
  it("reads a stream up to the limit", async () => {
    const out = await readAllLimited(chunked(Buffer.from("0123456789"), 3), 10, "ten");
    expect(out.toString()).toBe("0123456789");
  });

  it("rejects with SizeLimitError past the limit and destroys the stream", async () => {
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(100));
      },
    });
    await expect(readAllLimited(endless, 1000, "manifest from somewhere")).rejects.toThrow(SizeLimitError);
    expect(endless.destroyed).toBe(true);
  });
});

describe("fetchAll", () => {
  function storageOf(bytes: Buffer): ReadOnlyStorage & { fetches: number } {
    return {
      fetches: 0,
      async exists() {
        return true;
      },
      async fetch() {
        this.fetches++;
        return chunked(bytes, 5);
      },
    };
  }

  it("returns verified bytes", async () => {
    const b = Buffer.from('{"a":1}');
    expect((await fetchAll(storageOf(b), descOf(b))).equals(b)).toBe(true);
  });

  it("rejects content that does not match the descriptor", async () => {
    const b = Buffer.from('{"a":1}');
    await expect(fetchAll(storageOf(Buffer.from('{"a":2}')), descOf(b))).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(fetchAll(storageOf(Buffer.from('{"a":1}  ')), descOf(b))).rejects.toBeInstanceOf(SizeMismatchError);
  });

  it("refuses a descriptor larger than the limit without fetching", async () => {
    const b = Buffer.alloc(100);
    const storage = storageOf(b);
    await expect(fetchAll(storage, descOf(b), { limit: 50 })).rejects.toBeInstanceOf(SizeLimitError);
    expect(storage.fetches).toBe(0);
  });

  it("uses and verifies embedded data without fetching", async () => {
    const b = Buffer.from("{}");
    const storage = storageOf(Buffer.from("nope"));
    const desc = { ...descOf(b), data: b.toString("base64") };
    expect((await fetchAll(storage, desc)).toString()).toBe("{}");
    expect(storage.fetches).toBe(0);
    await expect(fetchAll(storage, { ...desc, data: Buffer.from("{ }").toString("base64") })).rejects.toThrow(SizeMismatchError);
  });
});
