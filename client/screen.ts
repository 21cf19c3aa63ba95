/**
 * Composes what the interactive client writes to the terminal: incoming lines printed above an
 * input line that they never clobber, and the input line itself, scrolled sideways when it is
 * longer than the window. Pure: it returns strings of text and ANSI sequences, and the caller
 * writes each in one go.
 *
 * @module
 */

import { graphemeWidth, visibleWidth } from "./width.ts";

/** Clear the current row and go to its first column. */
const _CLEAR_ROW = "\r\x1b[2K";

/** Where the input line shows, after {@linkcode layoutInput}. */
export interface InputLayout {
  /** The visible part of the input, ready to print. */
  readonly text: string;
  /** The cursor's column within {@linkcode InputLayout.text}. */
  readonly cursorColumn: number;
  /** The index of the first visible grapheme cluster (keep it for the next layout). */
  readonly scroll: number;
}

/** How a grapheme of input is shown: line breaks and tabs get a visible stand-in. */
function _shown(cluster: string): string {
  if (cluster === "\n") return "↵";
  if (cluster === "\t") return " ";
  return cluster;
}

function _width(cluster: string): number {
  return cluster === "\n" || cluster === "\t" ? 1 : graphemeWidth(cluster);
}

/**
 * Chooses the part of the input line to show in `columns` columns so that the cursor is
 * visible. The view moves only when the cursor would leave it, so it does not jump while typing;
 * when the whole line fits it is shown from its start.
 *
 * @param chars the input as grapheme clusters
 * @param cursor the cursor index in `chars`
 * @param scroll the first visible index of the previous layout (0 at first)
 * @param columns the columns available (at least 1)
 * @returns the text to show, the cursor column and the new scroll index
 * @example A long line keeps the cursor in view
 * ```ts
 * import assert from "node:assert/strict";
 * import { layoutInput } from "./screen.ts";
 * const chars = "abcdefghij".split("");
 * const view = layoutInput(chars, 10, 0, 5);
 * assert.ok(view.text === "ghij" && view.cursorColumn === 4);
 * ```
 */
export function layoutInput(
  chars: readonly string[],
  cursor: number,
  scroll: number,
  columns: number,
): InputLayout {
  const room = Math.max(1, columns);
  let total = 0;
  for (const cluster of chars) total += _width(cluster);
  let start = Math.min(Math.max(0, scroll), cursor);
  if (total < room) start = 0;
  // The cursor needs a cell of its own: the columns before it must stay below `room`.
  let before = 0;
  for (let i = start; i < cursor; i++) before += _width(chars[i]!);
  while (before > room - 1 && start < cursor) {
    before -= _width(chars[start]!);
    start++;
  }
  // Do not leave room unused on the right while text is hidden on the left.
  let after = 0;
  for (let i = start; i < chars.length; i++) after += _width(chars[i]!);
  while (start > 0 && after + _width(chars[start - 1]!) <= room - 1) {
    start--;
    const width = _width(chars[start]!);
    after += width;
    before += width;
  }
  let text = "";
  let used = 0;
  for (let i = start; i < chars.length; i++) {
    const cluster = chars[i]!;
    const width = _width(cluster);
    if (used + width > room) break;
    text += _shown(cluster);
    used += width;
  }
  return { text, cursorColumn: before, scroll: start };
}

/**
 * The terminal picture of the interactive client: a prompt and input line at the bottom, with
 * everything printed going above it.
 *
 * @example Print a message while "hel" is typed
 * ```ts
 * import assert from "node:assert/strict";
 * import { Screen } from "./screen.ts";
 * const screen = new Screen(80);
 * screen.setPrompt("alice> ");
 * const out = screen.print(["09:05 bob: hi"], false, ["h", "e", "l"], 3);
 * assert.ok(out === "\r\x1b[2K09:05 bob: hi\r\nalice> hel\r\x1b[10C");
 * ```
 */
export class Screen {
  #columns: number;
  #prompt = "";
  #promptWidth = 0;
  #scroll = 0;

  /**
   * Makes a screen with no prompt yet.
   *
   * @param columns the terminal's width
   */
  constructor(columns: number) {
    this.#columns = Math.max(1, columns);
  }

  /** The terminal's width in columns. */
  get columns(): number {
    return this.#columns;
  }

  /**
   * Sets the terminal's width (after a resize).
   *
   * @param columns the new width
   */
  setColumns(columns: number): void {
    this.#columns = Math.max(1, columns);
  }

  /**
   * Sets the prompt shown before the input.
   *
   * @param prompt the prompt, possibly styled with colour sequences
   */
  setPrompt(prompt: string): void {
    this.#prompt = prompt;
    this.#promptWidth = visibleWidth(prompt);
  }

  /**
   * Redraws the input line in place.
   *
   * @param chars the input as grapheme clusters
   * @param cursor the cursor index
   * @returns the text to write
   */
  inputLine(chars: readonly string[], cursor: number): string {
    return _CLEAR_ROW + this.#input(chars, cursor);
  }

  /**
   * Prints lines above the input line: clears the input row, writes the lines (the terminal
   * scrolls as needed), then draws the prompt and input again with the cursor where it was.
   *
   * @param lines the lines to print, styled, without line breaks
   * @param bell whether to ring the terminal bell
   * @param chars the input as grapheme clusters
   * @param cursor the cursor index
   * @returns the text to write, in one piece
   */
  print(lines: readonly string[], bell: boolean, chars: readonly string[], cursor: number): string {
    let out = _CLEAR_ROW;
    for (const line of lines) out += line + "\r\n";
    if (bell) out += "\x07";
    return out + this.#input(chars, cursor);
  }

  /**
   * Clears the input line for good, leaving the cursor at the start of an empty row (on exit).
   *
   * @param lines lines to print last, if any
   * @returns the text to write
   */
  finish(lines: readonly string[] = []): string {
    let out = _CLEAR_ROW;
    for (const line of lines) out += line + "\r\n";
    return out;
  }

  #input(chars: readonly string[], cursor: number): string {
    // Keep the last column free so the line never wraps.
    const room = this.#columns - this.#promptWidth - 1;
    if (room < 1) {
      // A window narrower than the prompt: show only the input.
      const view = layoutInput(chars, cursor, this.#scroll, Math.max(1, this.#columns - 1));
      this.#scroll = view.scroll;
      return view.text + _moveTo(view.cursorColumn);
    }
    const view = layoutInput(chars, cursor, this.#scroll, room);
    this.#scroll = view.scroll;
    return this.#prompt + view.text + _moveTo(this.#promptWidth + view.cursorColumn);
  }
}

function _moveTo(column: number): string {
  return column > 0 ? `\r\x1b[${column}C` : "\r";
}
