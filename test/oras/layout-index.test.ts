import { describe, expect, it } from "vitest";
import { MediaType } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { InvalidContentError } from "../../src/oras/errors.js";
import { IndexModel, REF_NAME_ANNOTATION } from "../../src/oras/layout/index-file.js";

const a = { mediaType: MediaType.ImageManifest, digest: digestOf("a"), size: 1 };
const b = { mediaType: MediaType.ImageManifest, digest: digestOf("b"), size: 1 };
const named = (desc: typeof a, name: string) => ({ ...desc, annotations: { [REF_NAME_ANNOTATION]: name } });

describe("IndexModel", () => {
  it("round-trips through serialize and parse", () => {
    const model = IndexModel.empty();
    model.apply({ kind: "record", desc: a });
    model.apply({ kind: "tag", name: "v1", desc: b });
    const again = IndexModel.parse(model.serialize(), "index.json");
    expect(again.list()).toEqual([{ descriptor: a }, { name: "v1", descriptor: b }]);
    expect(JSON.parse(model.serialize())).toEqual({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [a, named(b, "v1")] });
  });

  it("keeps the last of duplicate ref names and one untagged entry per digest", () => {
    const text = JSON.stringify({ schemaVersion: 2, manifests: [named(a, "x"), named(b, "x"), a, a] });
    const model = IndexModel.parse(text, "index.json");
    expect(model.tagged("x")).toEqual(b);
    expect(model.list()).toHaveLength(2);
  });

  it("reports whether a change changed anything", () => {
    const model = IndexModel.empty();
    expect(model.apply({ kind: "tag", name: "v1", desc: a })).toBe(true);
    expect(model.apply({ kind: "tag", name: "v1", desc: a })).toBe(false);
    expect(model.apply({ kind: "record", desc: a })).toBe(false);
    expect(model.apply({ kind: "untag", name: "nope" })).toBe(false);
    expect(model.apply({ kind: "forget", digest: a.digest })).toBe(true);
    expect(model.size).toBe(0);
  });

  it("does not store embedded data and replaces a stale ref name annotation", () => {
    const model = IndexModel.empty();
    model.apply({ kind: "tag", name: "new", desc: { ...named(a, "old"), data: "YQ==" } });
    expect(JSON.parse(model.serialize()).manifests).toEqual([named(a, "new")]);
  });

  it("rejects entries that are not descriptors", () => {
    for (const bad of [[1], [{ ...a, size: -1 }], [{ ...a, annotations: { k: 1 } }], [{ ...a, mediaType: "" }]]) {
      expect(() => IndexModel.parse(JSON.stringify({ schemaVersion: 2, manifests: bad }), "f.json")).toThrow(InvalidContentError);
    }
    expect(() => IndexModel.parse("[]", "f.json")).toThrow(/f\.json is not a valid OCI image index/);
  });
});
