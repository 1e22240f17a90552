/**
 * Canonical JSON: object keys sorted by UTF-16 code units at every level, no
 * whitespace, strings escaped as JSON.stringify does (only `"`, `\` and
 * control characters; other characters as raw UTF-8). The same value always
 * gives the same bytes, so the same kit always gives the same digest.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** Whether `bytes` are exactly the canonical JSON of `value`. */
export function isCanonicalJsonOf(value: unknown, bytes: Uint8Array): boolean {
  const expected = Buffer.from(canonicalJson(value), "utf8");
  return expected.length === bytes.length && expected.equals(bytes);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    // Floats have several valid spellings across languages; kits only hold integers.
    throw new TypeError(`canonical JSON holds integers only, got ${value}`);
  }
  return value;
}
