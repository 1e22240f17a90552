/**
 * The copy rules in one place, through the library: copy() with text or
 * parsed references (which tag the destination gets, which digests are
 * accepted), and copyReference between two OCI layouts on disk.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copy } from "../../src/oras/copy/index.js";
import { DigestMismatchError, InvalidReferenceError, UsageError } from "../../src/oras/errors.js";
import { OciLayout } from "../../src/oras/layout/store.js";
import { MemoryStore } from "../../src/oras/memory.js";
import { parseTargetReference } from "../../src/oras/reference.js";
import { copyReference } from "../../src/oras/targets.js";
import { collect } from "../support/content.js";
import { storeWith, twoPlatformIndex } from "./copy-fixtures.js";

async function tagged() {
  const g = twoPlatformIndex();
  const src = await storeWith("src", ...g.all);
  await src.tag(g.index.desc, "v1");
  return { g, src, root: g.index.desc.digest };
}

describe("copy() tag and digest rules", () => {
  it("tags an unnamed destination with the source's tag, given as text or parsed, and reports it", async () => {
    const { src, root } = await tagged();
    for (const srcRef of ["v1", { tag: "v1" }]) {
      const dst = new MemoryStore("dst");
      const result = await copy(src, srcRef, dst, typeof srcRef === "string" ? undefined : {});
      expect(result.tag).toBe("v1");
      expect(await collect(dst.tags())).toEqual(["v1"]);
      expect((await dst.resolve("v1")).digest).toBe(root);
    }
  });

  it("gives no tag when the source is named by digest, or the destination by digest alone", async () => {
    const { src, root } = await tagged();
    const bySourceDigest = new MemoryStore("dst");
    expect((await copy(src, { digest: root }, bySourceDigest, {})).tag).toBeUndefined();
    expect((await copy(src, root, new MemoryStore("dst"))).tag).toBeUndefined();
    expect(await collect(bySourceDigest.tags())).toEqual([]);

    const byDestinationDigest = new MemoryStore("dst");
    const result = await copy(src, { tag: "v1" }, byDestinationDigest, { digest: root });
    expect(result.tag).toBeUndefined();
    expect(await byDestinationDigest.exists(result.root)).toBe(true);
    expect(await collect(byDestinationDigest.tags())).toEqual([]);
  });

  it("checks a destination digest against the resolved root, with or without a tag beside it", async () => {
    const { g, src, root } = await tagged();
    const dst = new MemoryStore("dst");
    expect((await copy(src, { tag: "v1" }, dst, { tag: "stable", digest: root })).tag).toBe("stable");
    expect((await dst.resolve("stable")).digest).toBe(root);

    const other = g.amd.desc.digest;
    const empty = new MemoryStore("dst");
    const err = await copy(src, { tag: "v1" }, empty, { tag: "stable", digest: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`destination digest ${other} differs from ${root}, which "src:v1" resolves to`);
    expect(empty.digests()).toEqual([]);
  });

  it("refuses a source whose tag no longer points at the digest named beside it", async () => {
    const { g, src } = await tagged();
    const err = await copy(src, { tag: "v1", digest: g.amd.desc.digest }, new MemoryStore("dst")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as Error).message).toMatch(/tag "v1" of src \(the tag moved\)/);
  });

  it("refuses a source naming neither tag nor digest, and an invalid destination tag text, before copying", async () => {
    const { src } = await tagged();
    await expect(copy(src, {}, new MemoryStore("dst"))).rejects.toThrow(/src names no tag or digest/);
    const dst = new MemoryStore("dst");
    await expect(copy(src, "v1", dst, "-bad")).rejects.toBeInstanceOf(InvalidReferenceError);
    expect(dst.digests()).toEqual([]);
  });
});

describe("copyReference between OCI layouts", () => {
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), "kit-copy-rules-"));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function sourceLayout(): Promise<{ dir: string; root: string }> {
    const { g, src } = await tagged();
    const dir = path.join(work, "src");
    await copy(src, "v1", await OciLayout.open(dir, { create: true }));
    return { dir, root: g.index.desc.digest };
  }

  it("creates the destination layout and gives it the source's tag, from text or parsed references", async () => {
    const { dir, root } = await sourceLayout();
    const first = await copyReference(`oci:${dir}:v1`, `oci:${path.join(work, "a")}`);
    expect(first).toMatchObject({ tag: "v1", root: { digest: root }, source: { kind: "layout", path: dir, tag: "v1" } });
    expect((await (await OciLayout.open(path.join(work, "a"))).resolve("v1")).digest).toBe(root);

    const second = await copyReference(parseTargetReference(`oci:${dir}@${root}`), parseTargetReference(`oci:${path.join(work, "b")}:copy`));
    expect(second.tag).toBe("copy");
    expect(await collect((await OciLayout.open(path.join(work, "b"))).tags())).toEqual(["copy"]);
  });

  it("plans a dry run into a missing layout against an empty store and creates nothing", async () => {
    const { dir } = await sourceLayout();
    const missing = path.join(work, "missing");
    const result = await copyReference(`oci:${dir}:v1`, `oci:${missing}:v1`, { dryRun: true });
    expect(result.stats).toBeUndefined();
    expect(result.tag).toBe("v1");
    expect(result.plan.nodes.map((n) => n.action)).toEqual(result.plan.nodes.map(() => "upload"));
    expect(existsSync(missing)).toBe(false);
  });
});
