/**
 * Text that reaches an operator's terminal may hold what a peer chose (an FQDN identity, a DN):
 * a newline would forge a line, an escape sequence would forge colours or move the cursor, a
 * bidirectional override would reorder what is read. Everything the CLI prints and the daemon logs
 * as text goes through `escapeText`; JSON output goes through `escapeJsonText`.
 * @module
 */

/**
 * C0 controls, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), the Unicode line and
 * paragraph separators, and the bidirectional embedding, override and isolate controls.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g;
const UNSAFE_JSON = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function hex(c: string): string {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
}

/**
 * `s` with every character that could act on a terminal written as an escape: `\n`, `\r`, `\t`,
 * `\xHH`, `\u{HHHH}`; a backslash becomes `\\`, so the text stays unambiguous. Printable text,
 * including non-ASCII letters, is unchanged.
 */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (c) => NAMED[c] ?? hex(c));
}

/**
 * A JSON text (JSON.stringify already escapes C0 controls, quotes and backslashes) with the
 * remaining terminal-active characters as `\uHHHH` escapes: still valid JSON, same value.
 */
export function escapeJsonText(json: string): string {
  return json.replace(UNSAFE_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
