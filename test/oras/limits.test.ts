/**
 * The graph limits of src/oras/limits.ts: index nesting depth (checked on
 * every path, not only the first one found), cycles refused by every walk,
 * children per manifest, and the WWW-Authenticate length.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { orderChildrenFirst, planCopy, type GraphNode } from "../../src/oras/copy/plan.js";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { InvalidContentError, SizeLimitError } from "../../src/oras/errors.js";
import { OciLayout } from "../../src/oras/layout/store.js";
import { MAX_INDEX_DEPTH, MAX_MANIFEST_CHILDREN, MAX_WWW_AUTHENTICATE_BYTES } from "../../src/oras/limits.js";
import { parseImageIndex, parseImageManifest } from "../../src/oras/manifest.js";
import { MemoryStore } from "../../src/oras/memory.js";
import { parseChallenges } from "../../src/oras/remote/auth/challenge.js";
import { config, imageIndex, imageManifest, layer, storeWith, type Content } from "./copy-fixtures.js";

/** An image manifest under `levels - 1` indexes, each listing the one below: `levels` manifests from top to bottom. */
function chain(levels: number): Content[] {
  const out = [layer("l"), config("c")];
  let top = imageManifest(out[1]!, [out[0]!]);
  out.push(top);
  for (let i = 1; i < levels; i++) {
    top = imageIndex([top]);
    out.push(top);
  }
  return out;
}

describe("index nesting depth", () => {
  it(`copies a graph ${MAX_INDEX_DEPTH} manifests deep`, async () => {
    const all = chain(MAX_INDEX_DEPTH);
    const plan = await planCopy(await storeWith("src", ...all), new MemoryStore("dst"), all.at(-1)!.desc);
    expect(plan.nodes).toHaveLength(all.length);
  });

  it("refuses one level more, naming the limit", async () => {
    const all = chain(MAX_INDEX_DEPTH + 1);
    const planning = planCopy(await storeWith("src", ...all), new MemoryStore("dst"), all.at(-1)!.desc);
    await expect(planning).rejects.toThrow(SizeLimitError);
    await expect(planning).rejects.toThrow(/nesting of manifests under sha256:\w+ exceeds the limit of 16 levels/);
  });

  it("refuses a deep path even when a shortcut to its lower half is found first", async () => {
    // root -> c[0] -> ... -> c[15] (the image) is 17 manifests; root also lists c[8] directly, so the walk meets c[8] at depth 2.
    const all = chain(MAX_INDEX_DEPTH);
    const manifests = all.slice(2).reverse();
    const root = imageIndex([manifests[0]!, manifests[8]!]);
    const planning = planCopy(await storeWith("src", ...all, root), new MemoryStore("dst"), root.desc);
    await expect(planning).rejects.toThrow(/exceeds the limit of 16 levels/);
  });
});

describe("cycles through indexes", () => {
  const node = (digest: string, children: string[]): GraphNode => ({
    descriptor: { mediaType: MediaType.ImageIndex, digest, size: 1 },
    kind: "manifest",
    action: "upload",
    children,
  });

  // Content addressing rules a real cycle out; forged digests are the only way to one, so the ordering refuses it itself.
  it("the copy plan's ordering refuses a cycle", () => {
    const graph = new Map([
      ["sha256:a", node("sha256:a", ["sha256:b"])],
      ["sha256:b", node("sha256:b", ["sha256:a"])],
    ]);
    expect(() => orderChildrenFirst("sha256:a", graph)).toThrow(InvalidContentError);
    expect(() => orderChildrenFirst("sha256:a", graph)).toThrow(/has a cycle through sha256:a/);
  });

  describe("in an image layout whose blob files were overwritten to form one", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "limits-cycle-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    async function forgedCycle(): Promise<OciLayout> {
      const layout = await OciLayout.open(dir, { create: true });
      const a = imageIndex([]);
      const b = imageIndex([imageManifest(config("x"), [])]);
      await layout.push(a.desc, a.bytes);
      await layout.push(b.desc, b.bytes);
      await layout.tag(a.desc, "a");
      const lists = (d: Descriptor) => JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [d] });
      await writeFile(join(dir, "blobs", "sha256", a.desc.digest.slice(7)), lists(b.desc));
      await writeFile(join(dir, "blobs", "sha256", b.desc.digest.slice(7)), lists(a.desc));
      return layout;
    }

    it("verify ends, reporting both blobs", async () => {
      const report = await (await forgedCycle()).verify();
      expect(report.problems.map((p) => p.problem)).toEqual(["digest-mismatch", "digest-mismatch"]);
    });

    it("gc refuses and deletes nothing", async () => {
      const layout = await forgedCycle();
      // The forged bytes are caught by size or digest, whichever check comes first; either way it is an integrity error.
    await expect(layout.collectGarbage()).rejects.toMatchObject({ code: expect.stringMatching(/^(SIZE|DIGEST)_MISMATCH$/) });
      expect((await layout.verify()).blobs).toBe(2);
    });
  });
});

describe("children per manifest", () => {
  const child = { mediaType: MediaType.ImageManifest, digest: `sha256:${"a".repeat(64)}`, size: 1 };
  const desc = (mediaType: string, bytes: Buffer): Descriptor => ({ mediaType, digest: `sha256:${"b".repeat(64)}`, size: bytes.length });

  it(`reads an index of ${MAX_MANIFEST_CHILDREN} and refuses one of ${MAX_MANIFEST_CHILDREN + 1}`, () => {
    const index = (n: number) => Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: Array.from({ length: n }, () => child) }));
    expect(parseImageIndex(desc(MediaType.ImageIndex, index(MAX_MANIFEST_CHILDREN)), index(MAX_MANIFEST_CHILDREN)).manifests).toHaveLength(MAX_MANIFEST_CHILDREN);
    const over = index(MAX_MANIFEST_CHILDREN + 1);
    expect(() => parseImageIndex(desc(MediaType.ImageIndex, over), over)).toThrow(SizeLimitError);
    expect(() => parseImageIndex(desc(MediaType.ImageIndex, over), over)).toThrow(/"manifests" \(10001 descriptors\) exceeds the limit of 10000 descriptors/);
  });

  it("refuses an image manifest with too many layers", () => {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, config: child, layers: Array.from({ length: MAX_MANIFEST_CHILDREN + 1 }, () => child) }));
    expect(() => parseImageManifest(desc(MediaType.ImageManifest, bytes), bytes)).toThrow(/"layers" \(10001 descriptors\) exceeds the limit/);
  });
});

describe("WWW-Authenticate length", () => {
  it("parses a header at the limit and refuses one past it, naming it", () => {
    const prefix = 'Bearer realm="https://auth.example/token",scope="';
    const header = (length: number) => `${prefix}${"x".repeat(length - prefix.length - 1)}"`;
    expect(header(MAX_WWW_AUTHENTICATE_BYTES)).toHaveLength(MAX_WWW_AUTHENTICATE_BYTES);
    expect(parseChallenges(header(MAX_WWW_AUTHENTICATE_BYTES))[0]?.scheme).toBe("bearer");
    expect(() => parseChallenges(header(MAX_WWW_AUTHENTICATE_BYTES + 1), "the WWW-Authenticate header from r.example")).toThrow(
      /the WWW-Authenticate header from r.example \(8193 bytes\) exceeds the limit of 8192 bytes/,
    );
    // Several values count together.
    expect(() => parseChallenges([header(5000), header(5000)])).toThrow(SizeLimitError);
  });
});
