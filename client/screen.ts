/**
 * Composes what the interactive client writes to the terminal: incoming lines printed above an
 * input line that they never clobber, and the input line itself, scrolled sideways when it is
 * longer than the window. Pure: it returns strings of text and ANSI sequences, and the caller
 * writes each in one go.
 *
 * @module
 */

import { graphemeWidth, stringWidth as stringWidthOf, visibleWidth } from "./width.ts";
import { wrapLine } from "./wrap.ts";

/** Erase from the cursor to the end of the screen. */
const _CLEAR_BELOW = "\x1b[J";
/** Turn every attribute off (a cut status line must not leave its colour on). */
const _RESET = "\x1b[0m";

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
 * The row, counted from its first, on which a terminal that re-flows lines (tmux, VTE, kitty,
 * iTerm2, Windows Terminal, ...) puts the cursor after narrowing the window: the line it was
 * on is wrapped again at the new width and the cursor stays on the same character.
 *
 * @param cursor the cursor's column on the line before the resize
 * @param width the columns the line's text took
 * @param columns the new width
 * @returns the row of the cursor within the wrapped line, 0 when it did not wrap
 * @example A 72-column line with the cursor at its end, narrowed to 60 columns
 * ```ts
 * import assert from "node:assert/strict";
 * import { reflowedRow } from "./screen.ts";
 * assert.ok(reflowedRow(72, 72, 60) === 1);
 * assert.ok(reflowedRow(30, 72, 60) === 0);
 * ```
 */
export function reflowedRow(cursor: number, width: number, columns: number): number {
  const w = Math.max(1, columns);
  // At the very end of a line that fills its rows exactly, the cursor waits in the last
  // column of the last row (the wrap is pending) rather than on a row of its own.
  if (cursor > 0 && cursor >= width) return Math.floor((cursor - 1) / w);
  return Math.floor(cursor / w);
}

/** What the last drawing left at the bottom of the screen. */
interface _Drawn {
  /** The width of the status row, or null when none was drawn. */
  readonly statusWidth: number | null;
  /** The width of the input row (prompt and visible input). */
  readonly width: number;
  /** The column the cursor was left in, on the input row. */
  readonly cursor: number;
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
 * assert.ok(out === "\r\x1b[J09:05 bob: hi\r\nalice> hel\r\x1b[10C");
 * ```
 */
export class Screen {
  #columns: number;
  #prompt = "";
  #promptWidth = 0;
  #scroll = 0;
  #status = "";
  #drawn: _Drawn | null = null;
  /** After a resize: how many rows above the cursor the old drawing now takes. */
  #reflowUp: number | null = null;

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
    const next = Math.max(1, columns);
    const drawn = this.#drawn;
    if (drawn !== null && next !== this.#columns) {
      // A narrower window re-flows the prompt (and status) rows the terminal already shows:
      // the next drawing must start from the first of them, or they stay behind as stale rows.
      const statusRows = drawn.statusWidth === null
        ? 0
        : Math.max(1, Math.ceil(drawn.statusWidth / next));
      // Several resizes before the next drawing re-flow the same rows again, so only the last
      // width counts.
      this.#reflowUp = statusRows + reflowedRow(drawn.cursor, drawn.width, next);
    }
    this.#columns = next;
  }

  /**
   * Sets the status row shown just above the input line (the send queue, the connection), or
   * removes it. Drawn at the next {@linkcode Screen.inputLine} or {@linkcode Screen.print}.
   *
   * @param status the status, possibly styled; empty for no status row
   */
  setStatus(status: string): void {
    this.#status = status;
  }

  /** The status row's text, empty when there is none. */
  get status(): string {
    return this.#status;
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
    return this.#clear() + this.#block(chars, cursor);
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
    let out = this.#clear();
    for (const line of lines) out += line + "\r\n";
    if (bell) out += "\x07";
    return out + this.#block(chars, cursor);
  }

  /**
   * Clears the input line for good, leaving the cursor at the start of an empty row (on exit).
   *
   * @param lines lines to print last, if any
   * @returns the text to write
   */
  finish(lines: readonly string[] = []): string {
    let out = this.#clear();
    for (const line of lines) out += line + "\r\n";
    this.#drawn = null;
    return out;
  }

  /**
   * Goes to the first row of what the last drawing left (the status row, if any, or the input
   * row, or where a resize re-flowed them) and erases from there down: nothing is ever below.
   */
  #clear(): string {
    const up = this.#reflowUp ?? (this.#drawn?.statusWidth == null ? 0 : 1);
    this.#reflowUp = null;
    return "\r" + (up > 0 ? `\x1b[${up}A` : "") + _CLEAR_BELOW;
  }

  #block(chars: readonly string[], cursor: number): string {
    let out = "";
    let statusWidth: number | null = null;
    if (this.#status !== "") {
      // Cut to one row, the last column free as for the input line.
      const row = wrapLine(this.#status, Math.max(1, this.#columns - 1), 0)[0] ?? "";
      statusWidth = visibleWidth(row);
      const styled = row.includes("\x1b[") && !row.endsWith(_RESET);
      out += row + (styled ? _RESET : "") + "\r\n";
    }
    // Keep the last column free so the line never wraps.
    const room = this.#columns - this.#promptWidth - 1;
    if (room < 1) {
      // A window narrower than the prompt: show only the input.
      const view = layoutInput(chars, cursor, this.#scroll, Math.max(1, this.#columns - 1));
      this.#scroll = view.scroll;
      this.#drawn = { statusWidth, width: stringWidthOf(view.text), cursor: view.cursorColumn };
      return out + view.text + _moveTo(view.cursorColumn);
    }
    const view = layoutInput(chars, cursor, this.#scroll, room);
    this.#scroll = view.scroll;
    const column = this.#promptWidth + view.cursorColumn;
    this.#drawn = {
      statusWidth,
      width: this.#promptWidth + stringWidthOf(view.text),
      cursor: column,
    };
    return out + this.#prompt + view.text + _moveTo(column);
  }
}

function _moveTo(column: number): string {
  return column > 0 ? `\r\x1b[${column}C` : "\r";
}
