import { describe, expect, it } from "vitest";
import { checkMirrorList, parseMirrorList } from "../../src/kit/mirror-list.js";
import { MAX_MIRROR_LIST_TOKENS } from "../../src/kit/limits.js";
import { InvalidContentError } from "../../src/oras/errors.js";

const check = (text: string) => checkMirrorList(Buffer.from(text));

describe("mirror lists", () => {
  it("reads references and repositories with tag patterns and a SemVer range", () => {
    const list = parseMirrorList(Buffer.from('kits:\n  - ghcr.io/org/kit:1.0.0\n  - famiglia@sha256:' + "a".repeat(64) + '\n  - repository: ghcr.io/org/tools\n    tags: ["stable-*"]\n    semver: ">=1.0.0 <2.0.0"\n'), "kits.yaml");
    expect(list.kits).toEqual([
      "ghcr.io/org/kit:1.0.0",
      `famiglia@sha256:${"a".repeat(64)}`,
      { repository: "ghcr.io/org/tools", tags: ["stable-*"], semver: ">=1.0.0 <2.0.0" },
    ]);
  });

  it("locates every problem at LINE:COL with its field path, the way kit.yaml's are", () => {
    const { issues } = check(
      "kits:\n  - oci:./layout\n  - repository: ghcr.io/org/b:1\n    tags: [x]\n  - {repository: ghcr.io/org/c, tagz: []}\n  - 5\n  - {repository: ghcr.io/org/d, semver: '>=1 <y'}\n",
    );
    expect(issues.map((i) => `${i.line}:${i.column}: ${i.path}: ${i.message}`)).toEqual([
      "2:5: kits[0]: is an OCI layout: a kit travels under the registry reference it was published as",
      "3:17: kits[1].repository: names a repository: its tags are chosen by tags and semver, so write it without a tag or digest",
      '5:5: kits[2]: chooses no tags: give tags (patterns such as "1.*", or "*" for all) or semver (a range)',
      '5:33: kits[2].tagz: unknown field (did you mean "tags"?)',
      "6:5: kits[3]: must be a kit reference or a mapping with repository, tags and semver",
      '7:41: kits[4].semver: "y" is not a version (MAJOR.MINOR.PATCH, parts may be left out or written x)',
    ]);
    const err = (() => {
      try {
        parseMirrorList(Buffer.from("kits:\n  - 5\n"), "kits.yaml");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidContentError);
    expect((err as Error).message).toBe("kits.yaml:2:5: kits[0]: must be a kit reference or a mapping with repository, tags and semver");
  });

  it("refuses an empty document, a list, and one over its token budget", () => {
    expect(check("").issues[0]!.message).toMatch(/empty; a mirror list needs kits/);
    expect(check("- a.io/b:1\n").issues[0]!.message).toMatch(/must be a mapping with kits/);
    const huge = "kits:\n" + "  - a.io/b:1\n".repeat(MAX_MIRROR_LIST_TOKENS / 4);
    expect(check(huge).issues[0]!.message).toBe(`more than ${MAX_MIRROR_LIST_TOKENS} YAML tokens; split the list into several files`);
  });
});
