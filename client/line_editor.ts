/**
 * The input line of the interactive client as a pure state machine: keys in, text and cursor
 * out. It knows nothing of terminals or sockets, so every editing rule is unit-tested.
 *
 * @module
 */

import { sanitizeText } from "../protocol/sanitize.ts";
import type { Key } from "./keys.ts";
import { graphemes } from "./width.ts";

/**
 * Finds completions for the word before the cursor.
 *
 * @param before the text before the word being completed
 * @param word the word being completed (what lies between the last space and the cursor)
 * @returns the full replacements for the word, best first, each with its trailing separator
 */
export type Completer = (before: string, word: string) => readonly string[];

/** What the caller should do after a key. */
export type EditorAction =
  | { readonly type: "none" }
  | { readonly type: "submit"; readonly text: string }
  | { readonly type: "quit" }
  | { readonly type: "redraw" }
  | { readonly type: "bell" };

/** Options of a {@linkcode LineEditor}. */
export interface LineEditorOptions {
  /** How many submitted lines up/down can recall (default 500). */
  readonly historyLimit?: number;
  /** Supplies Tab completions; without it Tab rings the bell. */
  readonly complete?: Completer;
}

const _NONE: EditorAction = { type: "none" };
const _BELL: EditorAction = { type: "bell" };

interface _Completion {
  /** Index (in graphemes) where the word being completed starts. */
  readonly start: number;
  readonly word: string;
  readonly candidates: readonly string[];
  index: number;
  /** Grapheme count of the line after the last completion, to see if anything else changed. */
  end: number;
}

/**
 * A line editor: the text being typed as grapheme clusters, a cursor between them, the history
 * of submitted lines and Tab completion that cycles through candidates.
 *
 * Keys: printable text inserts; a bracketed paste inserts its text with line breaks kept (so a
 * multi-line paste is sent as one message on Enter); Enter submits; Backspace and Delete;
 * Left, Right, Home, End (and Ctrl-B, Ctrl-F, Ctrl-A, Ctrl-E); Alt-B, Alt-F, Ctrl- or
 * Alt-arrows move by words; Ctrl-U kills to the start, Ctrl-K to the end, Ctrl-W and
 * Alt-Backspace delete the word before the cursor, Alt-D the word after; Up and Down (and Ctrl-P,
 * Ctrl-N) walk the history; Tab completes; Ctrl-L asks for a redraw. As in readline, Ctrl-D
 * deletes the character under the cursor and quits only on an empty line, and Ctrl-C clears a
 * non-empty line and quits only when the line is already empty.
 *
 * @example Type, move and submit
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineEditor } from "./line_editor.ts";
 * const editor = new LineEditor();
 * editor.handle({ type: "text", text: "hllo" });
 * editor.handle({ type: "key", name: "home" });
 * editor.handle({ type: "key", name: "right" });
 * editor.handle({ type: "text", text: "e" });
 * const action = editor.handle({ type: "key", name: "enter" });
 * assert.ok(action.type === "submit" && action.text === "hello");
 * ```
 */
export class LineEditor {
  #chars: string[] = [];
  #cursor = 0;
  #history: string[] = [];
  /** Position in the history while walking it; equals its length when not walking. */
  #historyIndex = 0;
  /** The line being typed before walking the history started. */
  #draft: string[] = [];
  #historyLimit: number;
  #complete: Completer | undefined;
  #completion: _Completion | null = null;

  /**
   * Makes an empty editor.
   *
   * @param options history size and completion
   */
  constructor(options: LineEditorOptions = {}) {
    this.#historyLimit = options.historyLimit ?? 500;
    this.#complete = options.complete;
  }

  /** The text on the line. */
  get text(): string {
    return this.#chars.join("");
  }

  /** The text as grapheme clusters (do not modify). */
  get chars(): readonly string[] {
    return this.#chars;
  }

  /** The cursor position, in grapheme clusters from the start of the line. */
  get cursor(): number {
    return this.#cursor;
  }

  /** The submitted lines, oldest first. */
  get history(): readonly string[] {
    return this.#history;
  }

  /**
   * Replaces the line, putting the cursor at its end (used to give back a message that could
   * not be sent).
   *
   * @param text the new text
   */
  setText(text: string): void {
    this.#chars = graphemes(text);
    this.#cursor = this.#chars.length;
    this.#completion = null;
  }

  /**
   * Applies one key.
   *
   * @param key the key
   * @returns what the caller should do: nothing but redraw the line, submit a text, quit,
   *   redraw the whole screen, or ring the bell
   */
  handle(key: Key): EditorAction {
    if (key.type === "key" && key.name === "tab") return this.#tab();
    this.#completion = null;
    if (key.type === "text") {
      this.#insert(_cleanTyped(key.text));
      return _NONE;
    }
    if (key.type === "paste") {
      this.#insert(sanitizeText(key.text));
      return _NONE;
    }
    const chars = this.#chars;
    switch (key.name) {
      case "enter":
        return this.#submit();
      case "interrupt":
        // As in readline: Ctrl-C throws the line away, and leaves only from an empty line.
        if (chars.length === 0) return { type: "quit" };
        this.#chars = [];
        this.#cursor = 0;
        this.#leaveHistory();
        return _NONE;
      case "eof":
        // As in readline: Ctrl-D is end of input only on an empty line; otherwise it deletes.
        if (chars.length === 0) return { type: "quit" };
        if (this.#cursor < chars.length) chars.splice(this.#cursor, 1);
        return _NONE;
      case "redraw":
        return { type: "redraw" };
      case "backspace":
        if (this.#cursor === 0) return _NONE;
        chars.splice(this.#cursor - 1, 1);
        this.#cursor--;
        return _NONE;
      case "delete":
        if (this.#cursor < chars.length) chars.splice(this.#cursor, 1);
        return _NONE;
      case "left":
        this.#cursor = Math.max(0, this.#cursor - 1);
        return _NONE;
      case "right":
        this.#cursor = Math.min(chars.length, this.#cursor + 1);
        return _NONE;
      case "home":
        this.#cursor = 0;
        return _NONE;
      case "end":
        this.#cursor = chars.length;
        return _NONE;
      case "wordLeft":
        this.#cursor = this.#wordStartBefore(this.#cursor);
        return _NONE;
      case "wordRight":
        this.#cursor = this.#wordEndAfter(this.#cursor);
        return _NONE;
      case "deleteWordBack": {
        const start = this.#wordStartBefore(this.#cursor);
        chars.splice(start, this.#cursor - start);
        this.#cursor = start;
        return _NONE;
      }
      case "deleteWordForward": {
        const end = this.#wordEndAfter(this.#cursor);
        chars.splice(this.#cursor, end - this.#cursor);
        return _NONE;
      }
      case "killToStart":
        chars.splice(0, this.#cursor);
        this.#cursor = 0;
        return _NONE;
      case "killToEnd":
        chars.splice(this.#cursor);
        return _NONE;
      case "up":
        return this.#historyMove(-1);
      case "down":
        return this.#historyMove(1);
      case "escape":
      case "tab":
        return _NONE;
    }
  }

  #insert(text: string): void {
    if (text === "") return;
    const before = this.#chars.slice(0, this.#cursor).join("");
    const after = this.#chars.slice(this.#cursor).join("");
    // Segment again around the insertion, so a combining mark joins the letter before it.
    const head = graphemes(before + text);
    this.#chars = head.concat(graphemes(after));
    this.#cursor = head.length;
    this.#leaveHistory();
  }

  #submit(): EditorAction {
    const text = this.text;
    this.#chars = [];
    this.#cursor = 0;
    this.#draft = [];
    if (text.trim() !== "" && this.#history[this.#history.length - 1] !== text) {
      this.#history.push(text);
      if (this.#history.length > this.#historyLimit) this.#history.shift();
    }
    this.#historyIndex = this.#history.length;
    return { type: "submit", text };
  }

  #historyMove(step: -1 | 1): EditorAction {
    const target = this.#historyIndex + step;
    if (target < 0 || target > this.#history.length) return _BELL;
    if (this.#historyIndex === this.#history.length) this.#draft = this.#chars.slice();
    this.#historyIndex = target;
    this.#chars = target === this.#history.length
      ? this.#draft.slice()
      : graphemes(this.#history[target]!);
    this.#cursor = this.#chars.length;
    return _NONE;
  }

  /** Editing a recalled line makes it the draft: walking stops where it is. */
  #leaveHistory(): void {
    this.#historyIndex = this.#history.length;
  }

  #wordStartBefore(position: number): number {
    let i = position;
    while (i > 0 && _isSpace(this.#chars[i - 1]!)) i--;
    while (i > 0 && !_isSpace(this.#chars[i - 1]!)) i--;
    return i;
  }

  #wordEndAfter(position: number): number {
    const chars = this.#chars;
    let i = position;
    while (i < chars.length && _isSpace(chars[i]!)) i++;
    while (i < chars.length && !_isSpace(chars[i]!)) i++;
    return i;
  }

  #tab(): EditorAction {
    if (this.#complete === undefined) return _BELL;
    const current = this.#completion;
    if (current !== null && current.end === this.#cursor && current.candidates.length > 1) {
      current.index = (current.index + 1) % current.candidates.length;
      this.#replaceWord(current, current.candidates[current.index]!);
      return _NONE;
    }
    if (current !== null) return _BELL;
    let start = this.#cursor;
    while (start > 0 && !_isSpace(this.#chars[start - 1]!)) start--;
    const word = this.#chars.slice(start, this.#cursor).join("");
    const before = this.#chars.slice(0, start).join("");
    const candidates = this.#complete(before, word);
    const first = candidates[0];
    if (first === undefined) return _BELL;
    const completion: _Completion = { start, word, candidates, index: 0, end: this.#cursor };
    this.#replaceWord(completion, first);
    this.#completion = completion;
    return _NONE;
  }

  #replaceWord(completion: _Completion, replacement: string): void {
    const inserted = graphemes(replacement);
    this.#chars.splice(completion.start, completion.end - completion.start, ...inserted);
    this.#cursor = completion.start + inserted.length;
    completion.end = this.#cursor;
  }
}

function _isSpace(cluster: string): boolean {
  return cluster === " " || cluster === "\t" || cluster === "\n";
}

/** Typed text: control characters are dropped (they come as keys, never as text). */
function _cleanTyped(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, "");
}
