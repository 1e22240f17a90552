/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1): one header may hold several
 * challenges separated by commas, each a scheme followed by a token68 or by
 * comma-separated `name=value` parameters whose quoted values may themselves
 * contain commas and backslash escapes.
 */
import { SizeLimitError } from "../../errors.js";
import { MAX_WWW_AUTHENTICATE_BYTES } from "../../limits.js";

export interface Challenge {
  /** Lower-case scheme: "bearer", "basic", ... */
  scheme: string;
  /** Parameters with lower-case names. */
  params: Record<string, string>;
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? "";
  }
  skipSpaces(): boolean {
    const start = this.pos;
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
    return this.pos > start;
  }
  skipSeparators(): void {
    while (this.peek() === " " || this.peek() === "\t" || this.peek() === ",") this.pos++;
  }
  read(pattern: RegExp): string {
    const start = this.pos;
    while (!this.done && pattern.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  readQuoted(): string {
    this.pos++; // opening quote
    let out = "";
    while (!this.done) {
      const c = this.peek();
      this.pos++;
      if (c === "\\" && !this.done) {
        out += this.peek();
        this.pos++;
      } else if (c === '"') {
        return out;
      } else {
        out += c;
      }
    }
    return out; // unterminated: take what there is
  }
  /** Skip to just after the next top-level comma (used to recover from junk). */
  skipItem(): void {
    while (!this.done && this.peek() !== ",") {
      if (this.peek() === '"') this.readQuoted();
      else this.pos++;
    }
  }
}

/**
 * Every challenge in one or more WWW-Authenticate header values; malformed
 * parts are skipped. Values longer than MAX_WWW_AUTHENTICATE_BYTES together
 * are a SizeLimitError naming `what`.
 */
export function parseChallenges(value: string | readonly string[] | undefined, what = "the WWW-Authenticate header"): Challenge[] {
  if (value === undefined) return [];
  const values = typeof value === "string" ? [value] : value;
  const length = values.reduce((sum, v) => sum + v.length, 0);
  if (length > MAX_WWW_AUTHENTICATE_BYTES) throw new SizeLimitError(MAX_WWW_AUTHENTICATE_BYTES, `${what} (${length} bytes)`);
  return values.flatMap(parseOneHeader);
}

function parseOneHeader(text: string): Challenge[] {
  const s = new Scanner(text);
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  while (true) {
    s.skipSeparators();
    if (s.done) break;
    const name = s.read(TCHAR);
    if (name === "") {
      s.skipItem();
      continue;
    }
    const hadSpace = s.skipSpaces();
    if (s.peek() === "=") {
      s.pos++;
      if (current === undefined) {
        s.skipItem(); // a parameter before any scheme
        continue;
      }
      s.skipSpaces();
      // Unquoted values should be tokens, but some servers send bare URLs: take up to the next comma or space.
      const val = s.peek() === '"' ? s.readQuoted() : s.read(/[^,\s]/);
      current.params[name.toLowerCase()] = val;
      continue;
    }
    // Not a parameter: a new challenge starts with this scheme.
    // No prototype: a parameter named "__proto__" (or "constructor") is a parameter like any other.
    current = { scheme: name.toLowerCase(), params: Object.create(null) as Record<string, string> };
    out.push(current);
    if (hadSpace) {
      // `Scheme token68` (as in `Basic dXNlcjpwYXNz`): a token68 is followed by "="s only, then a comma or the end.
      const save = s.pos;
      const t = s.read(TOKEN68_CHAR);
      const pad = s.read(/=/);
      s.skipSpaces();
      if (t !== "" && (s.done || s.peek() === ",")) {
        current.token68 = t + pad;
      } else {
        s.pos = save;
      }
    }
  }
  return out;
}

/** The challenge to answer: Bearer when offered (scoped tokens), else Basic, else the first. */
export function preferredChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic") ?? challenges[0];
}
