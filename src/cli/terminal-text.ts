/**
 * Text from a registry or a kit author shown on a terminal: control
 * characters could forge output lines (LF), move the cursor or rewrite
 * earlier lines (ESC, CR), retitle the window or plant links (OSC), or
 * reorder what is read (bidirectional overrides), so they are shown as
 * visible escapes instead: `\n`, `\r`, `\t`, else `\uNNNN` (the forms a JSON
 * reader knows). JSON output needs none of this and stays exact.
 */

// C0, DEL, C1, and the bidi embedding, override and isolate controls.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// The same but tab and newline, for a whole document shown as it is laid out.
const UNSAFE_IN_DOCUMENT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeOne(c: string): string {
  return NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** One line of output: every control character escaped, newlines included. */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/** A multi-line document (a kit.yaml, a README): tabs and newlines stay, every other control character is escaped. */
export function escapeControlInDocument(text: string): string {
  return text.replace(UNSAFE_IN_DOCUMENT, escapeOne);
}
