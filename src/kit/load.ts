/**
 * Reading kit.yaml (and any YAML document of ours, through
 * checkYamlDocument): bounded, strict YAML with every problem located at
 * FILE:LINE:COL and named by its field path. Bounded in bytes, tokens,
 * nesting and alias expansions (src/kit/limits.ts), so no input costs more
 * than a fraction of a second or overflows the stack.
 */
import path from "node:path";
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from "yaml";
import type { core, ZodMiniType } from "zod/mini";
import { fsCalls, InvalidContentError, IoError, NotFoundError, OciError, readFileBounded } from "../oras/content.js";
import { MAX_ALIAS_EXPANSIONS, MAX_KIT_FILE_BYTES } from "./limits.js";
import { KitManifestSchema, type KitManifest } from "./schema.js";
import { KIT_YAML_BUDGET, yamlBudgetProblem, type YamlBudget } from "./yaml-budget.js";

const { stat } = fsCalls;

export const KIT_FILE = "kit.yaml";

export interface KitIssue {
  /** Dotted field path such as `resources.memory_mb` or `exposes[1].port`; empty for the document. */
  path: string;
  message: string;
  /** 1-based; 0 when unknown. */
  line: number;
  column: number;
}

/** A YAML file that breaks its schema: the first problem located, the count of the others, and the command that lists them all. */
export class YamlValidationError extends InvalidContentError {
  constructor(
    readonly file: string,
    readonly issues: KitIssue[],
    hint: string,
  ) {
    const first = issues[0]!;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
    super(`${formatIssue(file, first)}${more}`, { hint });
  }
}

export class KitValidationError extends YamlValidationError {
  constructor(file: string, issues: KitIssue[]) {
    super(file, issues, `run "kit validate ${file}" to see every problem`);
  }
}

/** The first problem, located, and how many more there are: one line for an error message. */
export function formatIssues(file: string, issues: readonly KitIssue[]): string {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
  return `${formatIssue(file, issues[0]!)}${more}`;
}

export function formatIssue(file: string, issue: KitIssue): string {
  const where = issue.line > 0 ? `${file}:${issue.line}:${issue.column}` : file;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export interface LoadedKit {
  /** The file that was read. */
  file: string;
  /** The exact bytes of the file (the artifact's kit.yaml layer is these bytes). */
  bytes: Buffer;
  manifest: KitManifest;
}

/** `dir` or a YAML file → the kit.yaml path to read. */
export async function resolveKitFile(target: string): Promise<string> {
  try {
    const info = await stat(target);
    return info.isDirectory() ? path.join(target, KIT_FILE) : target;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new NotFoundError(`${target}: no such file or directory`, { hint: 'create a kit with "kit init"' });
    }
    throw new IoError(`${target}: ${(err as Error).message}`, { cause: err });
  }
}

/** Load and validate a kit: a directory containing kit.yaml, or a YAML file. Throws KitValidationError. */
export async function loadKit(target: string): Promise<LoadedKit> {
  const file = await resolveKitFile(target);
  const bytes = await readKitFileBytes(file);
  const manifest = parseKitManifest(bytes, file);
  return { file, bytes, manifest };
}

export async function readKitFileBytes(file: string): Promise<Buffer> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new IoError(`${file}: not a regular file`);
    return await readFileBounded(file, MAX_KIT_FILE_BYTES);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new NotFoundError(`${file}: no such file`, { hint: `a kit directory must contain ${KIT_FILE}; create one with "kit init"` });
    }
    throw err instanceof OciError ? err : new IoError(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Parse and validate kit.yaml bytes; `file` is only used in messages. */
export function parseKitManifest(bytes: Uint8Array, file = KIT_FILE): KitManifest {
  const { value, issues } = checkKitManifest(bytes);
  if (issues.length > 0) throw new KitValidationError(file, issues);
  return value!;
}

/** Every problem in kit.yaml bytes, located; `value` is set only when there are none. */
export function checkKitManifest(bytes: Uint8Array): { value?: KitManifest; issues: KitIssue[] } {
  return checkYamlDocument(bytes, KIT_YAML);
}

/**
 * One kind of YAML document read the way kit.yaml is (kit.yaml, a mirror
 * list): its schema, its limits, and the words for a document of nothing.
 */
export interface YamlDocumentKind<T> {
  schema: ZodMiniType<T>;
  maxBytes: number;
  budget: YamlBudget;
  /** Said of an empty document; undefined when an empty document means an empty mapping (a config file). */
  empty?: string;
  /** Said of a document that is not a mapping. */
  notMapping: string;
  /** Field names an unknown key may be a typo of ("did you mean"). */
  knownKeys: readonly string[];
  /** Checks beyond the schema, on a document the schema accepted; each problem is located at its path. */
  refine?: (value: T) => Array<{ path: (string | number)[]; message: string }>;
}

const KIT_YAML: YamlDocumentKind<KitManifest> = {
  schema: KitManifestSchema,
  maxBytes: MAX_KIT_FILE_BYTES,
  budget: KIT_YAML_BUDGET,
  empty: "the file is empty; a kit needs at least name, version and image",
  notMapping: "the document must be a mapping of fields (name: …, version: …)",
  knownKeys: ["name", "version", "description", "image", "secrets", "required", "optional", "exposes", "port", "protocol", "resources", "memory_mb", "vcpus", "max_memory_mb", "max_vcpus", "egress"],
};

/**
 * Every problem in a YAML document of `kind`, each at its line and column
 * with its field path; `value` is set only when there are none. Bounded in
 * bytes, tokens, nesting and alias expansions before the schema sees it.
 */
export function checkYamlDocument<T>(bytes: Uint8Array, kind: YamlDocumentKind<T>): { value?: T; issues: KitIssue[] } {
  if (bytes.length > kind.maxBytes) {
    return { issues: [{ path: "", message: `file exceeds the limit of ${kind.maxBytes} bytes`, line: 0, column: 0 }] };
  }
  const text = Buffer.from(bytes).toString("utf8");
  const overBudget = yamlBudgetProblem(text, kind.budget);
  if (overBudget !== undefined) return { issues: [{ path: "", message: overBudget.message, ...linePosition(text, overBudget.offset) }] };
  const lines = new LineCounter();
  // Duplicate keys are found by duplicateKeys(), in one pass: the parser's own check compares every pair of keys.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, strict: true, version: "1.2" });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return { line: 0, column: 0 };
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };

  const problems = [
    ...doc.errors.map((e) => ({ message: yamlMessage(e.message), offset: e.pos[0] })),
    ...duplicateKeys(doc),
  ].sort((a, b) => a.offset - b.offset);
  if (problems.length > 0) return { issues: problems.map((p) => ({ path: "", message: p.message, ...at(p.offset) })) };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (err) {
    const message = (err as Error).message;
    if (/alias/i.test(message)) {
      return {
        issues: [{ path: "", message: `too many YAML alias expansions (limit ${MAX_ALIAS_EXPANSIONS}); refusing a possible "billion laughs" document`, line: 1, column: 1 }],
      };
    }
    return { issues: [{ path: "", message: `cannot read YAML: ${message}`, line: 1, column: 1 }] };
  }

  if (data === null || data === undefined) {
    if (kind.empty !== undefined) return { issues: [{ path: "", message: kind.empty, line: 1, column: 1 }] };
    data = {};
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    return { issues: [{ path: "", message: kind.notMapping, ...at(doc.contents?.range?.[0]) }] };
  }

  const result = kind.schema.safeParse(data);
  const refined = result.success ? (kind.refine?.(result.data) ?? []) : [];
  if (result.success && refined.length === 0) return { value: result.data, issues: [] };
  const found: core.$ZodIssue[] = result.success ? refined.map((r) => ({ code: "custom", input: undefined, path: r.path, message: r.message })) : result.error.issues;
  const issues = found.flatMap((issue) => locateIssue(doc, issue, at, kind.knownKeys));
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return { issues };
}

type Locator = (offset: number | undefined) => { line: number; column: number };

/** Every scalar key that repeats one earlier in its mapping, at the repeat (the rule the parser's uniqueKeys applies, in linear time). */
function duplicateKeys(doc: Document): Array<{ message: string; offset: number }> {
  const out: Array<{ message: string; offset: number }> = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) out.push({ message: duplicateKeyMessage(String(pair.key.value)), offset: pair.key.range?.[0] ?? 0 });
        seen.add(pair.key.value);
      }
    },
  });
  return out;
}

/** 1-based line and column of an offset, for a problem found before the parser (and its LineCounter) ran. */
function linePosition(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function locateIssue(doc: Document, issue: core.$ZodIssue, at: Locator, knownKeys: readonly string[]): KitIssue[] {
  const keys = issue.path as (string | number)[];
  if (issue.code === "invalid_key" || (issue.code === "custom" && issue.params?.["at"] === "key")) {
    // A mapping key (a record's) that breaks its rule: point at the key, not its value.
    const keyNode = keyNodesOf(nodeAt(doc, keys.slice(0, -1))).get(String(keys[keys.length - 1]));
    const message = issue.code === "invalid_key" ? issue.issues.map((i) => i.message).join("; ") || issue.message : issue.message;
    return [{ path: formatPath(keys), message, ...at(keyNode?.range?.[0]) }];
  }
  if (issue.code === "invalid_union") {
    // Report the problems of the one alternative whose type the value has (a string, a mapping), not "Invalid input".
    const typed = issue.errors.filter((branch) => !branch.some((e) => e.path.length === 0 && e.code === "invalid_type"));
    if (typed.length === 1) return typed[0]!.flatMap((e) => locateIssue(doc, { ...e, path: [...keys, ...e.path] }, at, knownKeys));
  }
  if (issue.code === "unrecognized_keys") {
    // Point at each unknown key itself, so a typo is found where it was typed.
    const keyNodes = keyNodesOf(nodeAt(doc, keys));
    return issue.keys.map((key) => {
      const keyPath = formatPath([...keys, key]);
      const keyNode = keyNodes.get(key);
      const suggestion = suggestKey(key, knownKeys);
      return {
        path: keyPath,
        message: `unknown field${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
        ...at(isNode(keyNode) ? keyNode.range?.[0] : undefined),
      };
    });
  }
  let node = nodeAt(doc, keys);
  const missing = keys.length > 0 && !doc.hasIn(keys);
  // A missing field has no node: point at the nearest enclosing one that exists.
  for (let n = keys.length - 1; !node && n >= 0; n--) node = nodeAt(doc, keys.slice(0, n));
  const message = missing && issue.code === "invalid_type" ? "is required" : issue.message;
  return [{ path: formatPath(keys), message, ...at(node?.range?.[0]) }];
}

/** A mapping's scalar keys by their text, first one kept: one map, so a file of thousands of keys does not cost their square. */
function keyNodesOf(parent: YamlNode | undefined): Map<string, YamlNode> {
  const keyNodes = new Map<string, YamlNode>();
  if (isMap(parent)) for (const p of parent.items) if (isPair(p) && isScalar(p.key) && !keyNodes.has(String(p.key.value))) keyNodes.set(String(p.key.value), p.key);
  return keyNodes;
}

function nodeAt(doc: Document, keys: (string | number)[]): YamlNode | undefined {
  if (keys.length === 0) return isNode(doc.contents) ? doc.contents : undefined;
  const node = doc.getIn(keys, true);
  return isNode(node) ? node : undefined;
}

/** `resources.memory_mb`, `exposes[1].port`; a key that is not a plain name is quoted, `registries["ghcr.io"].mirrors[0]`, so its dots are not read as steps. */
export function formatPath(keys: readonly (string | number)[]): string {
  let out = "";
  for (const key of keys) {
    if (typeof key === "number") out += `[${key}]`;
    else if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += `[${JSON.stringify(key)}]`;
    else out += out === "" ? key : `.${key}`;
  }
  return out;
}

/** The known field one edit away (or a plural/singular slip), for "did you mean". */
function suggestKey(key: string, knownKeys: readonly string[]): string | undefined {
  return knownKeys.find((known) => {
    const limit = Math.max(1, Math.floor(known.length / 5));
    // Lengths further apart than the limit cannot be within it: skip the quadratic distance (a file may hold thousands of keys).
    return known !== key && Math.abs(known.length - key.length) <= limit && editDistance(known, key) <= limit;
  });
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

function duplicateKeyMessage(key: string): string {
  const shown = key.trim().slice(0, 80);
  return shown ? `duplicate key "${shown}": each field may appear only once` : "duplicate key: each field may appear only once";
}

function yamlMessage(message: string): string {
  if (/multiple documents/i.test(message)) return 'the file must hold exactly one YAML document (remove the "---" separator)';
  return `invalid YAML: ${message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`;
}
