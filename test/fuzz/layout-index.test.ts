/**
 * Fuzzing index.json parsing (src/oras/layout/index-file.ts): any text gives
 * an index or an InvalidContentError, within the time bound; a parsed index
 * serialises (keeping fields it does not know) to text that parses to the
 * same entries, and stays so after tagging and untagging.
 */
import { describe, expect, it } from "vitest";
import { InvalidContentError, InvalidReferenceError } from "../../src/oras/errors.js";
import { IndexModel, REF_NAME_ANNOTATION, validateRefName } from "../../src/oras/layout/index-file.js";
import { MediaType } from "../../src/oras/descriptor.js";
import { bounded, fc, fuzzParams, fuzzTimeout } from "../support/fuzz.js";
import { descriptorLike, nearValid } from "../support/fuzz-oci.js";

const refName = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][\w.-]{0,20}$/), fc.string({ maxLength: 10 }), fc.constant(""));
const entry = fc.tuple(descriptorLike, fc.option(refName, { nil: undefined })).map(([desc, name]) =>
  name === undefined ? desc : { ...desc, annotations: { ...(typeof desc.annotations === "object" && desc.annotations !== null ? desc.annotations : {}), [REF_NAME_ANNOTATION]: name } },
);
const indexDoc = nearValid(
  fc.record(
    {
      schemaVersion: fc.constant(2),
      mediaType: fc.constant(MediaType.ImageIndex),
      manifests: fc.array(entry, { maxLength: 6 }),
      annotations: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
      extra: fc.jsonValue({ maxDepth: 3 }),
    },
    { requiredKeys: ["schemaVersion"] },
  ),
  ["schemaVersion", "mediaType", "manifests"],
);
const indexText = fc.oneof(
  { weight: 5, arbitrary: indexDoc.map((d) => JSON.stringify(d)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 100 }) },
  // Unknown fields are kept and written back: deep ones used to overflow the stack when the index was rewritten.
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 50_000 }).map((n) => `{"schemaVersion":2,"manifests":[],"x":${"[".repeat(n)}${"]".repeat(n)}}`) },
);
const isInvalidContent = (err: unknown) => err instanceof InvalidContentError;

describe("fuzzing index.json", () => {
  it(
    "any text gives an index or invalid content; what parses serialises and parses back to the same entries",
    () => {
      fc.assert(
        fc.property(indexText, fc.array(fc.tuple(fc.boolean(), refName), { maxLength: 3 }), (text, edits) => {
          const parsed = bounded(() => IndexModel.parse(text, "index.json"), isInvalidContent);
          if (!parsed.ok) return;
          const model = parsed.value;
          const again = bounded(() => IndexModel.parse(model.serialize(), "index.json"), () => false);
          expect(again.ok && again.value.list()).toEqual(model.list());
          const first = model.list()[0]?.descriptor;
          for (const [tag, name] of edits) {
            // The layout checks a tag name before it reaches the model, as here.
            const valid = bounded(() => validateRefName(name), (err) => err instanceof InvalidReferenceError).ok;
            if (tag && valid && first !== undefined) model.apply({ kind: "tag", name, desc: first });
            else model.apply({ kind: "untag", name });
          }
          expect(IndexModel.parse(model.serialize(), "index.json").list()).toEqual(model.list());
        }),
        fuzzParams(500),
      );
    },
    fuzzTimeout(),
  );

  it("an index whose unknown fields nest deeper than the JSON limit is refused, not rewritten into a stack overflow (minimal counterexample)", () => {
    const text = `{"schemaVersion":2,"manifests":[],"x":${"[".repeat(20_000)}${"]".repeat(20_000)}}`;
    expect(() => IndexModel.parse(text, "index.json")).toThrow(/index.json is not a valid OCI image index: nested deeper than 64 levels/);
  });
});
