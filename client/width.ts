/**
 * How wide text is on a terminal: text split into grapheme clusters (what a person sees as one
 * character), and the number of columns each takes (0, 1 or 2).
 *
 * @module
 */

const _segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Marks, format characters and Hangul medial vowels and finals: they take no column. */
const _ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff\u200b]$/u;
/** Emoji shown as pictures by default. */
const _EMOJI_PRESENTATION = /^\p{Emoji_Presentation}$/u;

/**
 * The East Asian Wide and Fullwidth blocks (start and end code point, inclusive), sorted: CJK,
 * Hangul syllables, kana, full-width forms and the CJK extension planes.
 */
const _WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

function _inWideRange(codePoint: number): boolean {
  let low = 0;
  let high = _WIDE_RANGES.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [start, end] = _WIDE_RANGES[mid]!;
    if (codePoint < start) high = mid - 1;
    else if (codePoint > end) low = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Splits text into grapheme clusters: a letter with its combining marks, an emoji sequence, a
 * CRLF pair, and so on, each one string.
 *
 * @param text any text
 * @returns the clusters in order; joined they give the text back
 * @example Split a word with a combining accent and an emoji
 * ```ts
 * import assert from "node:assert/strict";
 * import { graphemes } from "./width.ts";
 * assert.ok(graphemes("e\u0301a👍🏽").length === 3);
 * ```
 */
export function graphemes(text: string): string[] {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Printable ASCII (and CR, which can pair with LF) splits into single characters.
    if (c >= 0x7f || c === 0x0d) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text.split("");
  const out: string[] = [];
  for (const { segment } of _segmenter.segment(text)) out.push(segment);
  return out;
}

/**
 * The columns one grapheme cluster takes on a terminal: 2 for East Asian wide characters and
 * emoji, 0 for a lone combining mark or format character, otherwise 1. Control characters count
 * as 1 because callers show them as a visible symbol.
 *
 * @param cluster one grapheme cluster, as from {@linkcode graphemes}
 * @returns 0, 1 or 2
 * @example Widths
 * ```ts
 * import assert from "node:assert/strict";
 * import { graphemeWidth } from "./width.ts";
 * assert.ok(graphemeWidth("a") === 1 && graphemeWidth("日") === 2);
 * assert.ok(graphemeWidth("\u200b") === 0);
 * ```
 */
export function graphemeWidth(cluster: string): number {
  const first = cluster.codePointAt(0);
  if (first === undefined) return 0;
  if (first < 0x7f && cluster.length === 1) return 1;
  if (cluster.includes("\ufe0f")) return 2;
  const firstChar = String.fromCodePoint(first);
  if (_EMOJI_PRESENTATION.test(firstChar)) return 2;
  if (_inWideRange(first)) return 2;
  if (_ZERO_WIDTH.test(firstChar)) return 0;
  return 1;
}

/**
 * The columns a string takes on a terminal, as the sum of its clusters' widths. The text should
 * hold no escape sequences or line breaks.
 *
 * @param text the text to measure
 * @returns its width in columns
 * @example Measure mixed text
 * ```ts
 * import assert from "node:assert/strict";
 * import { stringWidth } from "./width.ts";
 * assert.ok(stringWidth("hi 日本") === 7);
 * ```
 */
export function stringWidth(text: string): number {
  let width = 0;
  for (const cluster of graphemes(text)) width += graphemeWidth(cluster);
  return width;
}

/** Matches the escape sequences this client itself writes (SGR colours). */
// deno-lint-ignore no-control-regex
const _SGR = /\x1b\[[0-9;]*m/g;

/**
 * The columns a styled string takes: the same as {@linkcode stringWidth} after removing SGR
 * colour sequences.
 *
 * @param text text that may contain colour sequences
 * @returns its visible width in columns
 * @example Colours take no room
 * ```ts
 * import assert from "node:assert/strict";
 * import { visibleWidth } from "./width.ts";
 * assert.ok(visibleWidth("\x1b[31mred\x1b[39m") === 3);
 * ```
 */
export function visibleWidth(text: string): number {
  return stringWidth(text.replace(_SGR, ""));
}
