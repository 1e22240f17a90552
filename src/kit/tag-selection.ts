/**
 * Choosing tags of a repository the way `skopeo sync` and regsync do: by
 * glob (`1.*`, `stable-?`) or by SemVer range (`>=1.0.0 <2.0.0`, `^1.2`,
 * `~1.2.3`, `1.x`, `1.0.0 - 1.4.0`, `a || b`), as npm's `semver` reads
 * ranges. Parsed once into matchers; a pattern or range that does not parse
 * is refused with a message naming what is wrong.
 */

/** A glob over tags: `*` any run of characters, `?` one; everything else is itself. */
export function parseTagGlob(pattern: string): (tag: string) => boolean {
  if (pattern.length === 0 || pattern.length > 128) throw new Error("must be 1 to 128 characters");
  const bad = /[^A-Za-z0-9_.*?-]/.exec(pattern);
  if (bad) throw new Error(`"${bad[0]}" cannot be in a tag; a pattern is tag characters (letters, digits, "_", ".", "-") with * and ?`);
  const source = pattern.replace(/[.*?-]/g, (c) => (c === "*" ? ".*" : c === "?" ? "." : `\\${c}`));
  const regex = new RegExp(`^${source}$`);
  return (tag) => regex.test(tag);
}

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated identifiers; empty for a release. */
  prerelease: Array<string | number>;
}

const NUMBER = "0|[1-9]\\d*";
const IDENT = "[0-9A-Za-z-]+";
const PRE = `(?:-(${IDENT}(?:\\.${IDENT})*))?`;
const BUILD = `(?:[+_]${IDENT}(?:\\.${IDENT})*)?`;
const TAG_VERSION = new RegExp(`^v?(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})${PRE}${BUILD}$`);

/**
 * The version a tag names, or undefined: MAJOR.MINOR.PATCH[-PRE][+BUILD],
 * optionally after a `v`, with `_` for `+` (a tag cannot hold `+`, so
 * `kit push` writes `1.0.0+b1` as `1.0.0_b1`). `1.2` or `latest` are not
 * versions: floating tags are chosen by glob.
 */
export function tagVersion(tag: string): SemVer | undefined {
  const m = TAG_VERSION.exec(tag);
  if (!m) return undefined;
  const nums = [m[1], m[2], m[3]].map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) return undefined;
  const prerelease = m[4] === undefined ? [] : m[4].split(".").map(identifier);
  if (prerelease.some((p) => p === undefined)) return undefined;
  return { major: nums[0]!, minor: nums[1]!, patch: nums[2]!, prerelease: prerelease as Array<string | number> };
}

/** A numeric identifier as a number (no leading zero), anything else as text; undefined when invalid. */
function identifier(part: string): string | number | undefined {
  if (!/^\d+$/.test(part)) return part;
  if (part.length > 1 && part.startsWith("0")) return undefined;
  const n = Number(part);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** SemVer precedence: negative when a < b. Build metadata plays no part. */
export function compareVersions(a: SemVer, b: SemVer): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return core;
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return b.prerelease.length - a.prerelease.length;
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x - y;
    // Numeric identifiers sort before alphanumeric ones.
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

type Operator = "<" | "<=" | ">" | ">=" | "=";

interface Comparator {
  op: Operator;
  version: SemVer;
}

/** A partial version as written: missing or wildcard parts are undefined. */
interface Partial {
  major?: number;
  minor?: number;
  patch?: number;
  prerelease: Array<string | number>;
}

const PARTIAL = new RegExp(`^v?(${NUMBER}|[xX*])(?:\\.(${NUMBER}|[xX*])(?:\\.(${NUMBER}|[xX*])${PRE}${BUILD})?)?$`);

function parsePartial(text: string): Partial {
  const m = PARTIAL.exec(text);
  if (!m) throw new Error(`"${text}" is not a version (MAJOR.MINOR.PATCH, parts may be left out or written x)`);
  const part = (s: string | undefined): number | undefined => {
    if (s === undefined || /^[xX*]$/.test(s)) return undefined;
    const n = Number(s);
    if (!Number.isSafeInteger(n)) throw new Error(`"${text}" has a number too large`);
    return n;
  };
  const [major, minor, patch] = [part(m[1]), part(m[2]), part(m[3])];
  // Once a part is a wildcard, what follows is too: "1.x.3" means 1.x.
  const p: Partial = { prerelease: [] };
  if (major === undefined) return p;
  p.major = major;
  if (minor === undefined) return p;
  p.minor = minor;
  if (patch === undefined) return p;
  p.patch = patch;
  if (m[4] !== undefined) {
    const pre = m[4].split(".").map(identifier);
    if (pre.some((x) => x === undefined)) throw new Error(`"${text}" has a prerelease identifier with a leading zero`);
    p.prerelease = pre as Array<string | number>;
  }
  return p;
}

const version = (major: number, minor: number, patch: number, prerelease: Array<string | number> = []): SemVer => ({ major, minor, patch, prerelease });
/** The lowest version of all, prereleases included: the upper bound that keeps out every prerelease of a version. */
const floor = (major: number, minor: number, patch: number): SemVer => version(major, minor, patch, [0]);

/** The smallest version a partial covers, and the smallest above it (undefined: no bound). */
function bounds(p: Partial): { low: SemVer; high?: SemVer } {
  if (p.major === undefined) return { low: version(0, 0, 0) };
  if (p.minor === undefined) return { low: version(p.major, 0, 0), high: floor(p.major + 1, 0, 0) };
  if (p.patch === undefined) return { low: version(p.major, p.minor, 0), high: floor(p.major, p.minor + 1, 0) };
  return { low: version(p.major, p.minor, p.patch, p.prerelease) };
}

function primitive(op: Operator, p: Partial): Comparator[] {
  const { low, high } = bounds(p);
  const exact = high === undefined && p.major !== undefined;
  switch (op) {
    case "=":
      return exact ? [{ op: "=", version: low }] : [{ op: ">=", version: low }, ...(high ? [{ op: "<" as const, version: high }] : [])];
    case ">=":
      return [{ op: ">=", version: low }];
    case "<":
      return p.major === undefined ? [{ op: "<", version: floor(0, 0, 0) }] : [{ op: "<", version: exact ? low : floor(low.major, low.minor, low.patch) }];
    case ">":
      if (p.major === undefined) return [{ op: "<", version: floor(0, 0, 0) }];
      // Above every version the partial covers: from the next release on (its floor is for upper bounds only).
      return exact ? [{ op: ">", version: low }] : [{ op: ">=", version: { ...high!, prerelease: [] } }];
    case "<=":
      if (p.major === undefined) return [{ op: ">=", version: version(0, 0, 0) }];
      return exact ? [{ op: "<=", version: low }] : [{ op: "<", version: high! }];
  }
}

function tilde(p: Partial): Comparator[] {
  if (p.major === undefined) return [];
  const { low } = bounds(p);
  const high = p.minor === undefined ? floor(p.major + 1, 0, 0) : floor(p.major, p.minor + 1, 0);
  return [{ op: ">=", version: low }, { op: "<", version: high }];
}

function caret(p: Partial): Comparator[] {
  if (p.major === undefined) return [];
  const { low } = bounds(p);
  let high: SemVer;
  if (p.major > 0 || p.minor === undefined) high = floor(p.major + 1, 0, 0);
  else if (p.minor > 0 || p.patch === undefined) high = floor(0, p.minor + 1, 0);
  else high = floor(0, 0, p.patch + 1);
  return [{ op: ">=", version: low }, { op: "<", version: high }];
}

function comparatorsOf(token: string): Comparator[] {
  const m = /^(<=|>=|<|>|=|~>?|\^)?(.*)$/.exec(token)!;
  const [, op, rest] = m;
  const p = parsePartial(rest!);
  if (op === undefined) return primitive("=", p);
  if (op.startsWith("~")) return tilde(p);
  if (op === "^") return caret(p);
  return primitive(op as Operator, p);
}

function parseSet(text: string): Comparator[] {
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) {
    const from = parsePartial(hyphen[1]!);
    const to = parsePartial(hyphen[2]!);
    return [...primitive(">=", from), ...primitive("<=", to)];
  }
  // An operator may be written apart from its version: ">= 1.0.0".
  const tokens = text.replace(/(<=|>=|<|>|=|~>?|\^)\s+/g, "$1").split(/\s+/).filter((t) => t !== "");
  return tokens.flatMap(comparatorsOf);
}

function satisfiesSet(v: SemVer, set: readonly Comparator[]): boolean {
  for (const c of set) {
    const d = compareVersions(v, c.version);
    const ok = c.op === "=" ? d === 0 : c.op === "<" ? d < 0 : c.op === "<=" ? d <= 0 : c.op === ">" ? d > 0 : d >= 0;
    if (!ok) return false;
  }
  if (v.prerelease.length === 0) return true;
  // A prerelease is chosen only by a range that names a prerelease of the same version (npm's rule). The `-0`
  // floors of upper bounds need no exception: no prerelease of their version gets past their `<`.
  return set.some((c) => c.version.prerelease.length > 0 && c.version.major === v.major && c.version.minor === v.minor && c.version.patch === v.patch);
}

/** A SemVer range as npm's `semver` reads it; throws an Error saying what does not parse. */
export function parseSemverRange(range: string): (v: SemVer) => boolean {
  const text = range.trim();
  if (text.length > 256) throw new Error("must be at most 256 characters");
  const sets = text.split("||").map((s) => parseSet(s.trim()));
  return (v) => sets.some((set) => satisfiesSet(v, set));
}
