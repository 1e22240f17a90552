import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SizeLimitError } from "../../src/oras/errors.js";
import { readFileBounded } from "../../src/oras/fs.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fs-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readFileBounded", () => {
  it("returns the exact bytes, UTF-8 or not, up to and including the limit", async () => {
    const file = join(dir, "f");
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    await writeFile(file, bytes);
    expect(await readFileBounded(file, 4)).toEqual(bytes);
    await writeFile(file, "");
    expect(await readFileBounded(file, 4)).toEqual(Buffer.alloc(0));
  });

  it("refuses a bigger file, naming it", async () => {
    const file = join(dir, "big");
    await writeFile(file, Buffer.alloc(5));
    const err = await readFileBounded(file, 4, "the big file").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
    expect((err as Error).message).toBe("the big file (5 bytes) exceeds the limit of 4 bytes");
  });

  it("stops a file that never ends just past the limit", async () => {
    // stat says 0 bytes; reading would never end.
    await expect(readFileBounded("/dev/zero", 1 << 20)).rejects.toBeInstanceOf(SizeLimitError);
  });

  it("passes filesystem errors through with their code", async () => {
    await expect(readFileBounded(join(dir, "missing"), 10)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
