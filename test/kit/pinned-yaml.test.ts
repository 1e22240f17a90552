import { describe, expect, it } from "vitest";
import { parseKitManifest } from "../../src/kit/load.js";
import { kitYamlWithImage } from "../../src/kit/pinned-yaml.js";

const PINNED = `ghcr.io/org/base:1.0@sha256:${"c".repeat(64)}`;

describe("kitYamlWithImage", () => {
  it("replaces only the image value: comments, blank lines and the rest stay byte for byte", () => {
    const text = '# Top comment\nname: x   # the name\nversion: "1.0.0"\n\n# the base image\nimage: ghcr.io/org/base:1.0 # pinned at push\negress:\n  - api.example.com\n';
    expect(kitYamlWithImage(text, PINNED)).toBe(text.replace("ghcr.io/org/base:1.0 #", `${PINNED} #`));
  });

  it.each([
    ["double-quoted", 'image: "ghcr.io/org/base:1.0"', `image: "${PINNED}"`],
    ["single-quoted", "image: 'ghcr.io/org/base:1.0'", `image: '${PINNED}'`],
    ["on the next line", "image:\n  ghcr.io/org/base:1.0", `image:\n  ${PINNED}`],
    ["with a tag", "image: !!str ghcr.io/org/base:1.0", `image: !!str ${PINNED}`],
    ["in a flow mapping", "{name: x, version: '1.0.0', image: ghcr.io/org/base:1.0}", `{name: x, version: '1.0.0', image: ${PINNED}}`],
  ])("keeps a %s value's style", (_what, imageLine, expected) => {
    const text = imageLine.startsWith("{") ? `${imageLine}\n` : `name: x\nversion: "1.0.0"\n${imageLine}\n`;
    const out = kitYamlWithImage(text, PINNED);
    expect(out).toContain(expected);
    expect(parseKitManifest(Buffer.from(out)).image).toBe(PINNED);
  });

  it("writes a block scalar as a quoted string, keeping the lines after it", () => {
    const out = kitYamlWithImage('name: x\nversion: "1.0.0"\nimage: |\n  ghcr.io/org/base:1.0\negress: [api.example.com]\n', PINNED);
    expect(out).toBe(`name: x\nversion: "1.0.0"\nimage: "${PINNED}"\negress: [api.example.com]\n`);
  });

  it("replaces an alias by the value, leaving the anchor where it is", () => {
    const text = 'name: x\nversion: "1.0.0"\ndescription: &img ghcr.io/org/base:1.0\nimage: *img\n';
    const out = kitYamlWithImage(text, PINNED);
    expect(out).toBe(`name: x\nversion: "1.0.0"\ndescription: &img ghcr.io/org/base:1.0\nimage: "${PINNED}"\n`);
  });

  it("re-serialises the document when the image is an anchor another field aliases", () => {
    const text = 'name: x\nversion: "1.0.0"\nimage: &img ghcr.io/org/base:1.0\ndescription: *img\n';
    const out = kitYamlWithImage(text, PINNED);
    expect(parseKitManifest(Buffer.from(out))).toEqual({ name: "x", version: "1.0.0", image: PINNED, description: "ghcr.io/org/base:1.0" });
  });

  it("refuses text that is not a valid kit", () => {
    expect(() => kitYamlWithImage("name: x\n", PINNED)).toThrow(/not a valid kit/);
  });
});
