// Tenant-written text is shown as it is, except characters that would make it look like other
// text: control characters, zero-width characters and bidirectional overrides (which can show a
// name ending in `fdp.exe` as one ending in `exe.pdf`) are written out as \u{…}. The one rule
// for every rendering: the HTML page, the Markdown, the terminal and printed JSON.

/** Whether a character hides or disguises text rather than showing it (tab and newlines aside). */
export function hidden(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0xad ||
    code === 0x061c ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff
  );
}

/** `text` with every hidden character, and each of `alsoHide`, written out as \u{…}. */
export function visible(text: string, alsoHide = ''): string {
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0)!;
    out += hidden(code) || alsoHide.includes(c) ? `\\u{${code.toString(16)}}` : c;
  }
  return out;
}

/**
 * JSON text with every hidden character written as a \uXXXX escape. Outside strings JSON is
 * ASCII, so only string contents change, and the text parses to the same values: a digest over
 * the canonical JSON of those values is the same whichever way they were printed.
 */
export function jsonVisible(json: string): string {
  let out = '';
  for (const c of json) {
    const code = c.codePointAt(0)!;
    out += hidden(code) ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return out;
}
