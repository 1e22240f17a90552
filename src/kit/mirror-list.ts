/**
 * The `kit mirror -f FILE` list: kits by reference, and repositories whose
 * tags are chosen by glob or SemVer range (as `skopeo sync` and regsync
 * choose them). Read the way kit.yaml is: bounded, strict YAML, every
 * problem at FILE:LINE:COL with its field path (spec/mirror-list.md).
 *
 *   kits:
 *     - ghcr.io/org/famiglia-kit:1.0.0
 *     - repository: ghcr.io/org/tools-kit
 *       tags: ["stable-*"]
 *       semver: ">=1.0.0 <2.0.0"
 */
import * as z from "zod/mini";
import { InvalidContentError, IoError, NotFoundError, OciError, parseReference, readFileBounded } from "../oras/content.js";
import { MAX_KIT_YAML_DEPTH, MAX_MIRROR_LIST_BYTES, MAX_MIRROR_LIST_TOKENS } from "./limits.js";
import { checkYamlDocument, formatIssues, type KitIssue, type YamlDocumentKind } from "./load.js";
import { parseKitReference } from "./reference.js";
import { parseSemverRange, parseTagGlob } from "./tag-selection.js";

/** A repository and the rules choosing its tags: a tag is mirrored when it matches a glob or is a version in the range. */
export interface MirrorListRepository {
  repository: string;
  tags?: string[];
  semver?: string;
}

export type MirrorListEntry = string | MirrorListRepository;

export interface MirrorList {
  kits: MirrorListEntry[];
}

/** A check that `parse` accepts the value, its message the issue's. */
function parsedBy(parse: (text: string) => unknown) {
  return z.superRefine((value: string, ctx) => {
    try {
      parse(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  });
}

const text = (what: string) => z.string({ error: `must be ${what}` });

const kitReference = text("a kit reference or a repository mapping").check(
  parsedBy((value) => {
    if (parseKitReference(value).kind === "layout") throw new Error("is an OCI layout: a kit travels under the registry reference it was published as");
  }),
);

const repository = z
  .strictObject({
    repository: text("a registry repository").check(
      parsedBy((value) => {
        const ref = parseReference(value);
        if (ref.tag !== undefined || ref.digest !== undefined) throw new Error("names a repository: its tags are chosen by tags and semver, so write it without a tag or digest");
      }),
    ),
    tags: z.optional(z.array(text("a tag pattern").check(parsedBy(parseTagGlob)), { error: "must be a list of tag patterns" })),
    semver: z.optional(text('a SemVer range such as ">=1.0.0 <2.0.0"').check(parsedBy(parseSemverRange))),
  })
  .check(
    z.superRefine((value, ctx) => {
      if (value.tags === undefined && value.semver === undefined) {
        ctx.addIssue({ code: "custom", message: 'chooses no tags: give tags (patterns such as "1.*", or "*" for all) or semver (a range)' });
      }
    }),
  );

export const MirrorListSchema = z.strictObject({
  kits: z.array(z.union([kitReference, repository], { error: "must be a kit reference or a mapping with repository, tags and semver" }), {
    error: "must be a list of kit references and repositories",
  }),
});

const MIRROR_LIST: YamlDocumentKind<MirrorList> = {
  schema: MirrorListSchema,
  maxBytes: MAX_MIRROR_LIST_BYTES,
  budget: { maxTokens: MAX_MIRROR_LIST_TOKENS, maxDepth: MAX_KIT_YAML_DEPTH, why: "split the list into several files" },
  empty: "the file is empty; a mirror list needs kits: […]",
  notMapping: "the document must be a mapping with kits: […]",
  knownKeys: ["kits", "repository", "tags", "semver"],
};

/** Every problem in a mirror list, located; `value` is set only when there are none. */
export function checkMirrorList(bytes: Uint8Array): { value?: MirrorList; issues: KitIssue[] } {
  return checkYamlDocument(bytes, MIRROR_LIST);
}

/** Parse and validate a mirror list; `file` names it in messages. Throws InvalidContentError (exit 3). */
export function parseMirrorList(bytes: Uint8Array, file: string): MirrorList {
  const { value, issues } = checkMirrorList(bytes);
  if (issues.length > 0) throw new InvalidContentError(formatIssues(file, issues), { hint: "spec/mirror-list.md describes the format" });
  return value!;
}

export async function readMirrorList(file: string): Promise<MirrorList> {
  let bytes: Buffer;
  try {
    bytes = await readFileBounded(file, MAX_MIRROR_LIST_BYTES, `mirror list ${file}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`mirror list ${file}: no such file`);
    throw err instanceof OciError ? err : new IoError(`mirror list ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseMirrorList(bytes, file);
}
