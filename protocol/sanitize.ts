/**
 * Makes user text safe for a terminal: nothing that a terminal would interpret as a command
 * survives, and no line break other than LF does.
 *
 * The rules, applied in one left-to-right pass:
 *
 * - ANSI escape sequences are dropped whole: CSI (`ESC [` or U+009B, parameters,
 *   intermediates, final byte), the string commands OSC, DCS, SOS, PM and APC (`ESC ]`, `ESC P`,
 *   `ESC X`, `ESC ^`, `ESC _` or U+009D, U+0090, U+0098, U+009E, U+009F, up to BEL, `ESC \` or
 *   U+009C), and two- or more-byte `ESC` sequences such as `ESC ( B` or `ESC c`. A string
 *   command with no terminator anywhere after it loses only its introducer; a CSI cut short
 *   loses what was read of it.
 * - Line breaks (CR, CRLF, VT, FF, U+0085, U+2028, U+2029) become LF; LF stays (in
 *   {@linkcode sanitizeLine} every line break becomes one space). So no CR ever survives.
 * - Bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) are dropped.
 * - Any other control character (C0 other than TAB and LF, DEL, C1, a lone `ESC`) and any lone
 *   surrogate is replaced by U+FFFD, so that it is visible and cannot join words.
 *
 * The output contains none of what the rules act on, so sanitising is idempotent. Text with
 * nothing to change is returned as is, without copying.
 *
 * @module
 */

const REPLACEMENT = "\uFFFD";
const ESC = 0x1b;
const BEL = 0x07;
const C1_ST = 0x9c;

/** Is `c` a bidi control (dropped)? */
function _isBidi(c: number): boolean {
  return c === 0x061c || c === 0x200e || c === 0x200f || (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069);
}

/**
 * What the sanitiser acts on, found by the regular expression engine (about twice as fast as a
 * `charCodeAt` loop here): controls other than TAB and LF, DEL, C1, bidi controls, U+2028,
 * U+2029 and lone surrogates (with the `u` flag a surrogate pair is one code point, not Cs).
 */
// deno-lint-ignore no-control-regex
const _DIRTY = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\p{Cs}]/u;
/** {@linkcode _DIRTY} and LF, for single-line fields. */
const _DIRTY_LINE =
  // deno-lint-ignore no-control-regex
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\p{Cs}]/u;

/**
 * Scanning state for one call. `unterminatedFrom` remembers the smallest index from which no
 * string terminator exists, so that many unterminated introducers cost linear time in total.
 */
interface _Scan {
  readonly text: string;
  unterminatedFrom: number;
}

/** Skips a CSI body starting at `j`; returns the index after it (or after what was read). */
function _skipCsi(text: string, j: number): number {
  const length = text.length;
  let c = 0;
  while (j < length && (c = text.charCodeAt(j)) >= 0x30 && c <= 0x3f) j++;
  while (j < length && (c = text.charCodeAt(j)) >= 0x20 && c <= 0x2f) j++;
  if (j < length && (c = text.charCodeAt(j)) >= 0x40 && c <= 0x7e) return j + 1;
  return j;
}

/**
 * Skips a string command body (OSC, DCS, SOS, PM, APC) starting at `j`: returns the index after
 * its terminator, or `j` itself when no terminator follows (only the introducer is dropped).
 */
function _skipString(scan: _Scan, j: number): number {
  if (j >= scan.unterminatedFrom) return j;
  const text = scan.text;
  const length = text.length;
  for (let k = j; k < length; k++) {
    const c = text.charCodeAt(k);
    if (c === BEL || c === C1_ST) return k + 1;
    if (c === ESC && k + 1 < length && text.charCodeAt(k + 1) === 0x5c) return k + 2;
  }
  scan.unterminatedFrom = j;
  return j;
}

/**
 * Skips the escape sequence whose `ESC` is at `i`; returns the index after it, or -1 when the
 * `ESC` starts no sequence (a lone control).
 */
function _skipEscape(scan: _Scan, i: number): number {
  const text = scan.text;
  const j = i + 1;
  if (j >= text.length) return -1;
  const c = text.charCodeAt(j);
  if (c === 0x5b) return _skipCsi(text, j + 1); // [
  // ] P X ^ _ : string commands.
  if (c === 0x5d || c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f) {
    return _skipString(scan, j + 1);
  }
  if (c >= 0x20 && c <= 0x2f) {
    // nF: intermediates, then one final byte.
    let k = j + 1;
    let d = 0;
    while (k < text.length && (d = text.charCodeAt(k)) >= 0x20 && d <= 0x2f) k++;
    if (k < text.length && (d = text.charCodeAt(k)) >= 0x30 && d <= 0x7e) return k + 1;
    return k;
  }
  if (c >= 0x30 && c <= 0x7e) return j + 1; // Fp, Fe, Fs: ESC and one byte.
  return -1;
}

function _sanitize(text: string, keepLf: boolean): string {
  const start = text.search(keepLf ? _DIRTY : _DIRTY_LINE);
  if (start < 0) return text;
  const newline = keepLf ? "\n" : " ";
  const scan: _Scan = { text, unterminatedFrom: Infinity };
  const length = text.length;
  let out = "";
  let clean = 0; // start of the pending run of unchanged text
  let i = start;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) {
      i++;
      continue;
    }
    let replacement: string | null = null;
    let next = i + 1;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      if (c === 0x09) {
        i++;
        continue;
      }
      if (c === 0x0a) {
        if (keepLf) {
          i++;
          continue;
        }
        replacement = newline;
      } else if (c === 0x0d) {
        // CRLF is one line break: drop the CR and let the LF be handled next.
        replacement = i + 1 < length && text.charCodeAt(i + 1) === 0x0a ? "" : newline;
      } else if (c === 0x0b || c === 0x0c || c === 0x85) {
        replacement = newline;
      } else if (c === ESC) {
        const end = _skipEscape(scan, i);
        if (end < 0) replacement = REPLACEMENT;
        else {
          replacement = "";
          next = end;
        }
      } else if (c === 0x9b) {
        replacement = "";
        next = _skipCsi(text, i + 1);
      } else if (c === 0x9d || c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f) {
        replacement = "";
        next = _skipString(scan, i + 1);
      } else {
        replacement = REPLACEMENT;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          i += 2;
          continue;
        }
      }
      replacement = REPLACEMENT;
    } else if (c === 0x2028 || c === 0x2029) {
      replacement = newline;
    } else if (_isBidi(c)) {
      replacement = "";
    } else {
      i++;
      continue;
    }
    out += text.slice(clean, i) + replacement;
    i = next;
    clean = next;
  }
  return clean < length ? out + text.slice(clean) : out;
}

/**
 * Sanitises message text (which may span lines) for display on a terminal; see the module doc
 * for the exact rules. LF and TAB are kept.
 *
 * @param text text as received from a peer
 * @returns the text with escape sequences and bidi controls dropped, line breaks made LF, and
 *   other control characters replaced by U+FFFD
 * @example Colours and CRs do not survive
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitizeText } from "./sanitize.ts";
 * assert.ok(sanitizeText("\x1b[31mred\x1b[0m\r\nnext") === "red\nnext");
 * assert.ok(sanitizeText("a\x07b") === "a\uFFFDb");
 * ```
 */
export function sanitizeText(text: string): string {
  return _sanitize(text, true);
}

/**
 * Sanitises a single-line field (a motd line, a name shown to a person, an error message): the
 * same as {@linkcode sanitizeText}, except that every line break becomes one space.
 *
 * @param text text as received from a peer
 * @returns the sanitised text, with no LF in it
 * @example Line breaks become spaces
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitizeLine } from "./sanitize.ts";
 * assert.ok(sanitizeLine("one\r\ntwo") === "one two");
 * ```
 */
export function sanitizeLine(text: string): string {
  return _sanitize(text, false);
}

/**
 * Whitespace and invisible characters: JavaScript's `\s` (Unicode White_Space and U+FEFF) plus
 * the characters that render as nothing (zero-width space and joiners, word joiner, invisible
 * operators, soft hyphen, combining grapheme joiner, variation selectors, Mongolian vowel
 * separator, Hangul fillers, braille blank). One character class, so matching is linear.
 */
const _BLANK =
  /^[\s\u00ad\u034f\u115f\u1160\u180e\u200b-\u200d\u2060-\u2064\u2800\u3164\ufe00-\ufe0f\uffa0]*$/;

/**
 * Tells whether text is empty or only whitespace and invisible characters once sanitised. Such
 * a message is ignored rather than relayed.
 *
 * @param text text as received from a peer
 * @returns true when nothing visible would remain
 * @example Blank and not blank
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBlank } from "./sanitize.ts";
 * assert.ok(isBlank(" \t\n\u3000\u200b\x1b[0m"));
 * assert.ok(!isBlank(" hi "));
 * ```
 */
export function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a) continue;
    // Only an escape sequence can remove a printable character, and none started before it.
    if (c > 0x20 && c < 0x7f) return false;
    return _BLANK.test(sanitizeText(text));
  }
  return true;
}

/**
 * Characters shown escaped by {@linkcode quote}: quote, backslash, controls, format characters,
 * surrogates, private use, unassigned, separators other than the space, and Hangul fillers.
 */
const _QUOTE_ESCAPE = /["\\\p{C}\p{Z}\u115f\u1160\u3164\uffa0]/gu;

/**
 * Quotes a value for an error message: wraps it in double quotes, shortens it to `maxChars`
 * code points (marking the cut with `…`), and writes characters a person could not see or that
 * a terminal would act on as `\u{XXXX}` (and `"` and `\` with a backslash). The result is safe
 * to show as is and tells the person exactly what they sent.
 *
 * @param value the value to quote
 * @param maxChars how many code points of it to show, at least 1 (default 40)
 * @returns the quoted value
 * @example Quote a name with a zero-width space in it
 * ```ts
 * import assert from "node:assert/strict";
 * import { quote } from "./sanitize.ts";
 * assert.ok(quote("a\u200bb") === '"a\\u{200B}b"');
 * assert.ok(quote("a b") === '"a b"');
 * ```
 */
export function quote(value: string, maxChars = 40): string {
  let shown = value;
  if (value.length > maxChars) {
    let units = 0;
    let count = 0;
    while (units < value.length && count < maxChars) {
      const c = value.charCodeAt(units);
      const low = c >= 0xd800 && c <= 0xdbff ? value.charCodeAt(units + 1) : 0;
      units += low >= 0xdc00 && low <= 0xdfff ? 2 : 1;
      count++;
    }
    if (units < value.length) shown = value.slice(0, units) + "…";
  }
  const escaped = shown.replace(_QUOTE_ESCAPE, (ch) => {
    if (ch === " ") return ch;
    if (ch === '"' || ch === "\\") return "\\" + ch;
    return `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}}`;
  });
  return `"${escaped}"`;
}
