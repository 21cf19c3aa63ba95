/**
 * Turns what a terminal in raw mode sends into keys: typed text, named keys (arrows, Home,
 * Backspace, Ctrl-W, ...) and bracketed pastes. No I/O: text in, keys out.
 *
 * @module
 */

/** The named keys the line editor understands. */
export type KeyName =
  | "enter"
  | "tab"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "wordLeft"
  | "wordRight"
  | "deleteWordBack"
  | "deleteWordForward"
  | "killToStart"
  | "killToEnd"
  | "interrupt"
  | "eof"
  | "redraw"
  | "escape";

/** One key press, a run of typed text, or a whole bracketed paste. */
export type Key =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "paste"; readonly text: string }
  | { readonly type: "key"; readonly name: KeyName };

/** Turns bracketed paste on; the terminal then wraps pastes in `ESC [200~` ... `ESC [201~`. */
export const BRACKETED_PASTE_ON = "\x1b[?2004h";
/** Turns bracketed paste off again. */
export const BRACKETED_PASTE_OFF = "\x1b[?2004l";

const _PASTE_END = "\x1b[201~";
/** A paste larger than this many UTF-16 units is cut (the rest is dropped). */
const _MAX_PASTE = 1 << 20;

/** Single control characters and what they mean. */
const _CONTROL_KEYS: Readonly<Record<string, KeyName>> = {
  "\r": "enter",
  "\n": "enter",
  "\t": "tab",
  "\x7f": "backspace",
  "\x08": "backspace",
  "\x01": "home",
  "\x05": "end",
  "\x02": "left",
  "\x06": "right",
  "\x10": "up",
  "\x0e": "down",
  "\x15": "killToStart",
  "\x0b": "killToEnd",
  "\x17": "deleteWordBack",
  "\x03": "interrupt",
  "\x04": "eof",
  "\x0c": "redraw",
};

/** Final bytes of `ESC [ ...` and `ESC O ...` sequences. */
const _FINAL_KEYS: Readonly<Record<string, KeyName>> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

/** Numbers of `ESC [ n ~` sequences. */
const _TILDE_KEYS: Readonly<Record<string, KeyName>> = {
  "1": "home",
  "7": "home",
  "4": "end",
  "8": "end",
  "3": "delete",
};

/** `ESC x` (Alt-x) sequences. */
const _ALT_KEYS: Readonly<Record<string, KeyName>> = {
  b: "wordLeft",
  f: "wordRight",
  d: "deleteWordForward",
  "\x7f": "deleteWordBack",
  "\x08": "deleteWordBack",
};

/**
 * Decodes terminal input incrementally. Feed it decoded text with {@linkcode KeyDecoder.push};
 * an escape sequence or paste cut between two chunks is held until the rest arrives. A lone
 * `ESC` at the end of a chunk is held too: call {@linkcode KeyDecoder.flush} after a short
 * pause (when {@linkcode KeyDecoder.pending} is true) to read it as the Escape key.
 *
 * Runs of printable characters come out as one `text` key; a bracketed paste comes out as one
 * `paste` key with its line breaks made LF. Unknown sequences and other control characters are
 * dropped.
 *
 * @example Decode typing, an arrow key and a paste
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyDecoder } from "./keys.ts";
 * const decoder = new KeyDecoder();
 * const keys = decoder.push("hi\x1b[D\x1b[200~a\r\nb\x1b[201~\r");
 * assert.ok(keys.length === 4);
 * assert.ok(keys[2]!.type === "paste" && keys[2]!.text === "a\nb");
 * ```
 */
export class KeyDecoder {
  #held = "";
  #paste: string | null = null;

  /** True when input is held back waiting for more (a cut sequence, a lone ESC, a paste). */
  get pending(): boolean {
    return this.#held !== "" || this.#paste !== null;
  }

  /** True while inside a bracketed paste whose end has not arrived yet. */
  get inPaste(): boolean {
    return this.#paste !== null;
  }

  /**
   * Decodes one chunk of input.
   *
   * @param chunk text from the terminal (already decoded from UTF-8)
   * @returns the keys completed by this chunk, in order
   */
  push(chunk: string): Key[] {
    const keys: Key[] = [];
    let input = this.#held + chunk;
    this.#held = "";
    let i = 0;
    let text = "";
    const flushText = () => {
      if (text !== "") keys.push({ type: "text", text });
      text = "";
    };
    while (i < input.length) {
      if (this.#paste !== null) {
        const end = input.indexOf(_PASTE_END, i);
        if (end === -1) {
          // Keep a tail that could be the start of the end marker.
          const keep = _partialSuffix(input, _PASTE_END);
          this.#appendPaste(input.slice(i, input.length - keep));
          this.#held = input.slice(input.length - keep);
          return keys;
        }
        this.#appendPaste(input.slice(i, end));
        keys.push({ type: "paste", text: _normalisePaste(this.#paste) });
        this.#paste = null;
        i = end + _PASTE_END.length;
        continue;
      }
      const ch = input[i]!;
      const code = input.charCodeAt(i);
      if (ch === "\x1b") {
        flushText();
        const result = this.#escape(input, i);
        if (result === null) {
          this.#held = input.slice(i);
          return keys;
        }
        if (result.key !== undefined) keys.push(result.key);
        i = result.next;
        if (result.startPaste) {
          this.#paste = "";
          input = input.slice(i);
          i = 0;
        }
        continue;
      }
      if (code < 0x20 || code === 0x7f) {
        flushText();
        // CR LF from a terminal that sends both is one Enter.
        if (ch === "\r" && input[i + 1] === "\n") i++;
        const name = _CONTROL_KEYS[ch];
        if (name !== undefined) keys.push({ type: "key", name });
        i++;
        continue;
      }
      if (code >= 0x80 && code <= 0x9f) {
        // C1 controls are never typed text.
        i++;
        continue;
      }
      text += ch;
      i++;
    }
    flushText();
    return keys;
  }

  /**
   * Gives up waiting: a held lone `ESC` becomes the Escape key, a held partial sequence is
   * dropped. An unfinished paste is kept waiting for its end.
   *
   * @returns the keys released
   */
  flush(): Key[] {
    if (this.#paste !== null) return [];
    const held = this.#held;
    this.#held = "";
    if (held === "\x1b") return [{ type: "key", name: "escape" }];
    return [];
  }

  #appendPaste(text: string): void {
    const room = _MAX_PASTE - this.#paste!.length;
    if (room > 0) this.#paste += text.slice(0, room);
  }

  /**
   * Reads the escape sequence at `start`; null when it is cut short by the end of input.
   */
  #escape(
    input: string,
    start: number,
  ): { key?: Key; next: number; startPaste?: boolean } | null {
    const second = input[start + 1];
    if (second === undefined) return null;
    if (second === "[") {
      let j = start + 2;
      while (j < input.length) {
        const c = input.charCodeAt(j);
        if (c >= 0x40 && c <= 0x7e) break;
        if (c < 0x20 || c > 0x3f) return { next: j }; // malformed: drop what was read
        j++;
      }
      if (j >= input.length) return null;
      const params = input.slice(start + 2, j);
      const final = input[j]!;
      const next = j + 1;
      if (final === "~") {
        const number = params.split(";")[0] ?? "";
        if (number === "200") return { next, startPaste: true };
        const name = _TILDE_KEYS[number];
        return name === undefined ? { next } : { key: { type: "key", name }, next };
      }
      const name = _FINAL_KEYS[final];
      if (name === undefined) return { next };
      const modifier = params.split(";")[1];
      // Ctrl- or Alt-arrow moves by words.
      if (modifier !== undefined && modifier !== "1") {
        if (name === "left") return { key: { type: "key", name: "wordLeft" }, next };
        if (name === "right") return { key: { type: "key", name: "wordRight" }, next };
      }
      return { key: { type: "key", name }, next };
    }
    if (second === "O") {
      const final = input[start + 2];
      if (final === undefined) return null;
      const name = _FINAL_KEYS[final];
      return name === undefined
        ? { next: start + 3 }
        : { key: { type: "key", name }, next: start + 3 };
    }
    if (second === "\x1b") {
      return { key: { type: "key", name: "escape" }, next: start + 1 };
    }
    const alt = _ALT_KEYS[second];
    if (alt !== undefined) return { key: { type: "key", name: alt }, next: start + 2 };
    // Other Alt combinations mean nothing here.
    const width = second.charCodeAt(0) >= 0xd800 && second.charCodeAt(0) <= 0xdbff ? 2 : 1;
    return { next: start + 1 + width };
  }
}

/** How many characters at the end of `text` could begin `marker`. */
function _partialSuffix(text: string, marker: string): number {
  for (let keep = Math.min(marker.length - 1, text.length); keep > 0; keep--) {
    if (marker.startsWith(text.slice(text.length - keep))) return keep;
  }
  return 0;
}

/** Pasted text: CRLF and CR become LF; a single trailing line break is dropped. */
function _normalisePaste(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(/\n$/, "");
}
