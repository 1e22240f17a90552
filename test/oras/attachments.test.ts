/**
 * The one attachment walk (src/oras/attachments.ts): referrers and cosign's tag-named attachments, subjects before
 * what is attached to them, each digest once, bounded in count and depth. Over a MemoryStore, which finds
 * predecessors from the `subject` of the manifests pushed to it, as a layout does.
 */
import { describe, expect, it } from "vitest";
import { cosignTag, walkAttachments } from "../../src/oras/attachments.js";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { SizeLimitError } from "../../src/oras/errors.js";
import { MemoryStore } from "../../src/oras/memory.js";
import { descriptorOf } from "../support/content.js";

const EMPTY = Buffer.from("{}");
const EMPTY_DESC = descriptorOf(EMPTY, MediaType.EmptyJSON);

async function manifest(store: MemoryStore, body: Record<string, unknown>, tag?: string): Promise<Descriptor> {
  await store.push(EMPTY_DESC, EMPTY);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EMPTY_DESC, layers: [EMPTY_DESC], ...body }));
  const desc = descriptorOf(bytes, MediaType.ImageManifest);
  if (typeof body.artifactType === "string") desc.artifactType = body.artifactType;
  await store.push(desc, bytes);
  if (tag !== undefined) await store.tag(desc, tag);
  return desc;
}

/** A chain of `length` referrers, each of the one before, under a fresh subject. */
async function chain(store: MemoryStore, length: number): Promise<Descriptor[]> {
  const out = [await manifest(store, { annotations: { n: "subject" } })];
  for (let i = 0; i < length; i++) out.push(await manifest(store, { subject: out.at(-1)!, annotations: { n: String(i) } }));
  return out;
}

describe("walkAttachments", () => {
  it("finds referrers and cosign tags, subjects first, each digest once", async () => {
    const store = new MemoryStore();
    const subject = await manifest(store, { annotations: { n: "image" } });
    const kit = await manifest(store, { subject, artifactType: "application/vnd.aegis.kit.v1" });
    const sbom = await manifest(store, { subject, artifactType: "application/spdx+json" });
    const sig = await manifest(store, { annotations: { n: "sig" } }, cosignTag(kit.digest, ".sig"));
    // Attached twice (a referrer of the kit and the SBOM): listed once.
    const both = await manifest(store, { subject: kit, annotations: { n: "both" } }, cosignTag(sbom.digest, ".att"));
    const found = await walkAttachments(store, [subject]);
    expect(found.map((a) => [a.descriptor.digest, a.subject, a.tag])).toEqual([
      [kit.digest, subject.digest, undefined],
      [sbom.digest, subject.digest, undefined],
      [both.digest, kit.digest, undefined],
      [sig.digest, kit.digest, cosignTag(kit.digest, ".sig")],
    ]);
    const referrersOnly = await walkAttachments(store, [subject], { cosignTags: false });
    expect(referrersOnly.map((a) => a.descriptor.digest)).toEqual([kit.digest, sbom.digest, both.digest]);
    const kitsOnly = await walkAttachments(store, [subject], { artifactType: "application/vnd.aegis.kit.v1" });
    expect(kitsOnly.map((a) => a.descriptor.digest)).toEqual([kit.digest, both.digest, sig.digest]);
  });

  it("walks what visit returns (the manifests under an attachment) and never lists a subject", async () => {
    const store = new MemoryStore();
    const subject = await manifest(store, {});
    const inner = await manifest(store, { annotations: { n: "inner" } });
    const onInner = await manifest(store, { subject: inner });
    const outer = await manifest(store, { subject, annotations: { n: "outer" } });
    const visited: string[] = [];
    const found = await walkAttachments(store, [subject, subject], {
      visit: (a) => {
        visited.push(a.descriptor.digest);
        return a.descriptor.digest === outer.digest ? [inner, subject] : [];
      },
    });
    expect(found.map((a) => a.descriptor.digest)).toEqual([outer.digest, onInner.digest]);
    expect(visited).toEqual([outer.digest, onInner.digest]);
  });

  it("follows as many levels as the depth limit, and refuses one more", async () => {
    const store = new MemoryStore();
    const links = await chain(store, 4);
    expect((await walkAttachments(store, [links[0]!], { maxDepth: 4 })).map((a) => a.descriptor.digest)).toEqual(links.slice(1).map((d) => d.digest));
    const err = await walkAttachments(store, [links[0]!], { maxDepth: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitError);
    expect((err as Error).message).toMatch(/^the attachments under sha256:[0-9a-f]{64} exceeds the limit of 3 levels$/);
  });

  it("refuses more attachments than the count limit, every level together", async () => {
    const store = new MemoryStore();
    const subject = await manifest(store, {});
    for (let i = 0; i < 3; i++) await manifest(store, { subject, annotations: { n: String(i) } });
    expect((await walkAttachments(store, [subject], { maxAttachments: 3 })).length).toBe(3);
    await expect(walkAttachments(store, [subject], { maxAttachments: 2 })).rejects.toThrow(/exceeds the limit of 2 attachments/);
  });
});
