/** The one test for "a JSON object" (not null, not an array) that every reader of JSON documents uses. */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * True when `value` nests arrays and objects more than maxDepth deep (`[]` is
 * depth 1). Iterative: JSON.parse accepts any depth, but JSON.stringify and
 * every recursive reader overflow the stack on what it returns, so readers
 * refuse deep documents at the edge.
 */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > maxDepth) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** A value from a document, as JSON cut to `max` characters, for a message: a 4 MiB `size` must not become a 4 MiB error. */
export function quoteJson(value: unknown, max = 80): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? "an array" : typeof value;
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
