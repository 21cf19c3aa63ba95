/**
 * A push parser for line mode (`nc`, `telnet`): LF-terminated lines, a CR before the LF dropped,
 * each line capped. No I/O.
 *
 * @module
 */

import { FramingError } from "./errors.ts";

const LF = 0x0a;
const CR = 0x0d;

/** Options of a {@linkcode LineParser}. */
export interface LineParserOptions {
  /** The longest line accepted, in bytes, not counting the line ending. */
  readonly maxLineBytes: number;
}

/** Receives each complete line without its ending. The view is valid only during the call. */
export type LineHandler = (line: Uint8Array) => void;

/**
 * Splits bytes into lines. A line that lies whole inside one chunk is handed over as a view of
 * that chunk; a line split across chunks is gathered in a buffer that grows by doubling and never
 * beyond the cap, so feeding a long line one byte at a time costs linear time.
 *
 * @example Split lines that arrive in pieces
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineParser } from "./line_parser.ts";
 * const lines: string[] = [];
 * const parser = new LineParser((line) => lines.push(new TextDecoder().decode(line)), {
 *   maxLineBytes: 100,
 * });
 * parser.push(new TextEncoder().encode("alice\r\nhel"));
 * parser.push(new TextEncoder().encode("lo\n"));
 * assert.ok(lines.join("|") === "alice|hello");
 * ```
 */
export class LineParser {
  #onLine: LineHandler;
  #maxLineBytes: number;
  #pending: Uint8Array | null = null;
  #pendingFill = 0;
  #failure: FramingError | null = null;

  /**
   * @param onLine called with each complete line
   * @param options the line length cap
   */
  constructor(onLine: LineHandler, options: LineParserOptions) {
    this.#onLine = onLine;
    this.#maxLineBytes = options.maxLineBytes;
  }

  /** The current line length cap in bytes. */
  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }
  set maxLineBytes(value: number) {
    this.#maxLineBytes = value;
  }

  /** How many bytes of an unfinished line the parser holds. */
  get bufferedBytes(): number {
    return this.#pendingFill;
  }

  /**
   * Feeds one chunk; calls the line handler for every line it completes.
   *
   * @param chunk the bytes, in order; the parser keeps no reference after returning
   * @throws {FramingError} `too_large` when a line exceeds the cap
   */
  push(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) {
        this.#keep(chunk.subarray(start));
        return;
      }
      if (this.#pendingFill === 0) {
        this.#emit(chunk.subarray(start, newline));
      } else {
        this.#keep(chunk.subarray(start, newline));
        const line = this.#pending!.subarray(0, this.#pendingFill);
        this.#pendingFill = 0;
        this.#emit(line);
        if (this.#pending!.length > 4096) this.#pending = null;
      }
      start = newline + 1;
    }
  }

  /**
   * Ends the input: a last line without a line ending is handed over as a line.
   *
   * @throws {FramingError} if the parser had failed
   */
  flush(): void {
    if (this.#failure) throw this.#failure;
    if (this.#pendingFill > 0) {
      const line = this.#pending!.subarray(0, this.#pendingFill);
      this.#pendingFill = 0;
      this.#emit(line);
    }
    this.#pending = null;
  }

  #emit(line: Uint8Array): void {
    const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    if (end > this.#maxLineBytes) this.#tooLong();
    this.#onLine(end === line.length ? line : line.subarray(0, end));
  }

  #keep(bytes: Uint8Array): void {
    const needed = this.#pendingFill + bytes.length;
    // One byte of slack for a CR that may precede the LF.
    if (needed > this.#maxLineBytes + 1) this.#tooLong();
    let pending = this.#pending;
    if (pending === null || pending.length < needed) {
      const size = Math.min(
        Math.max(needed, (pending?.length ?? 64) * 2),
        this.#maxLineBytes + 1,
      );
      const grown = new Uint8Array(size);
      if (pending !== null) grown.set(pending.subarray(0, this.#pendingFill));
      this.#pending = pending = grown;
    }
    pending.set(bytes, this.#pendingFill);
    this.#pendingFill = needed;
  }

  #tooLong(): never {
    this.#failure = new FramingError(
      "too_large",
      `Line is longer than the limit of ${this.#maxLineBytes} bytes`,
    );
    this.#pending = null;
    this.#pendingFill = 0;
    throw this.#failure;
  }
}
