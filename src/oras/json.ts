/** The one test for "a JSON object" (not null, not an array) that every reader of JSON documents uses. */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
