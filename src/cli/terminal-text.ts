/**
 * Text from a registry or a kit author shown on a terminal: control
 * characters could move the cursor, rewrite earlier lines, retitle the window
 * (ESC, OSC, CR) or reorder what is read (bidirectional overrides), so they
 * are shown as visible escapes instead. Tab and newline stay.
 */

// C0 except tab and newline, DEL, C1, and the bidi embedding, override and isolate controls.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function escapeControlCharacters(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
