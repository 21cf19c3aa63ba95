/**
 * Word wrap for the interactive client's output: a styled line wider than the terminal is cut
 * at spaces into rows, and every row after the first is indented under the text, as irssi does
 * (`09:05 bob: ` then the continuation lined up after it). Without this the terminal breaks the
 * line itself, mid-word, at column 0.
 *
 * @module
 */

import { graphemes, graphemeWidth, visibleWidth } from "./width.ts";

/** The sequence that turns every attribute off, ending a row whose styles are still on. */
const _RESET = "\x1b[0m";
/** One SGR sequence, or one character (the text is split into graphemes afterwards). */
// deno-lint-ignore no-control-regex
const _TOKEN = /\x1b\[[0-9;]*m|[^\x1b]+|\x1b/g;

type _Item =
  | { readonly kind: "style"; readonly text: string }
  | { readonly kind: "char"; readonly text: string; readonly width: number };

/** A run of spaces, or a run of other characters, with the styles found inside it. */
interface _Run {
  readonly space: boolean;
  readonly items: _Item[];
}

function _runs(line: string): _Run[] {
  const runs: _Run[] = [];
  let current: _Run | null = null;
  const add = (item: _Item, space: boolean | null): void => {
    // A style sequence joins whatever run it is in; it starts none of its own.
    if (current === null || (space !== null && current.space !== space)) {
      current = { space: space ?? false, items: [] };
      runs.push(current);
    }
    current.items.push(item);
  };
  for (const token of line.match(_TOKEN) ?? []) {
    if (token.startsWith("\x1b[") && token.endsWith("m")) {
      add({ kind: "style", text: token }, null);
      continue;
    }
    for (const cluster of graphemes(token)) {
      const space = cluster === " " || cluster === "\t";
      add({ kind: "char", text: cluster, width: space ? 1 : graphemeWidth(cluster) }, space);
    }
  }
  return runs;
}

/**
 * Cuts a styled line into rows no wider than `columns`: at spaces where it can, inside a word
 * only when the word is longer than a whole row. Rows after the first start with `indent`
 * spaces (none when the window is too narrow for that to leave room). Colours that are on
 * where a row ends are turned off there and on again after the next row's indent, so each row
 * stands alone. Tabs become single spaces.
 *
 * @param line the line, possibly with SGR colour sequences, without line breaks
 * @param columns the terminal's width (at least 1)
 * @param indent the width of the hanging indent for continuation rows
 * @returns the rows, at least one
 * @example Wrap at a space, with a hanging indent
 * ```ts
 * import assert from "node:assert/strict";
 * import { wrapLine } from "./wrap.ts";
 * assert.deepEqual(wrapLine("09:05 bob: one two three four", 24, 11), [
 *   "09:05 bob: one two three",
 *   "           four",
 * ]);
 * ```
 */
export function wrapLine(line: string, columns: number, indent: number): string[] {
  const width = Math.max(1, columns);
  if (visibleWidth(line) <= width && !line.includes("\t")) return [line];
  // A hanging indent that leaves less than half the row for text is dropped.
  const hang = indent * 2 <= width ? Math.max(0, indent) : 0;
  const rows: string[] = [];
  let active: string[] = [];
  let row = "";
  let used = 0;
  let content = false;

  const style = (text: string): void => {
    row += text;
    active = text === _RESET || text === "\x1b[m" ? [] : [...active, text];
  };
  const char = (item: { text: string; width: number }): void => {
    row += item.text === "\t" ? " " : item.text;
    used += item.width;
    content = true;
  };
  const newRow = (): void => {
    rows.push(active.length > 0 ? row + _RESET : row);
    row = " ".repeat(hang) + active.join("");
    used = hang;
    content = false;
  };
  const place = (items: readonly _Item[]): void => {
    for (const item of items) {
      if (item.kind === "style") {
        style(item.text);
      } else {
        if (used + item.width > width && content) newRow();
        char(item);
      }
    }
  };

  let pending: _Run | null = null;
  for (const run of _runs(line)) {
    if (run.space) {
      pending = run;
      continue;
    }
    const spaces = pending === null ? 0 : _width(pending);
    const word = _width(run);
    if (used + spaces + word <= width) {
      if (pending !== null) place(pending.items);
      place(run.items);
    } else if (content && word <= width - hang) {
      // Break at the space: it is dropped, but any style change inside it is kept.
      for (const item of pending?.items ?? []) if (item.kind === "style") style(item.text);
      newRow();
      place(run.items);
    } else {
      // A word longer than a row: fill this row and carry on in the next ones.
      if (pending !== null) place(pending.items);
      place(run.items);
    }
    pending = null;
  }
  // Spaces at the very end are not worth a row of their own; their styles still apply.
  for (const item of pending?.items ?? []) if (item.kind === "style") style(item.text);
  rows.push(row);
  return rows;
}

function _width(run: _Run): number {
  let width = 0;
  for (const item of run.items) if (item.kind === "char") width += item.width;
  return width;
}
