/**
 * The input side of a text connection (one whose first bytes cannot start a frame64 header): it
 * tells a line client (`nc`, `telnet`) from a raw client (the tutorials that send bare bytes)
 * and cuts the bytes into lines or bursts.
 *
 * A LF, or a telnet command, before the sender pauses makes a line client; bytes followed by a
 * pause of `pauseMs` with neither make a raw client, whose bursts (bytes followed by such a
 * pause) are its messages, the first one its name. Line clients have their telnet commands taken
 * out and answered (see `protocol/telnet.ts`).
 *
 * @module
 */

import { LineParser } from "../protocol/line_parser.ts";
import { RawParser } from "../protocol/raw_parser.ts";
import { IAC, TelnetFilter } from "../protocol/telnet.ts";

/** How a text connection sends: lines, or bursts of bare bytes. */
export type TextMode = "line" | "raw";

/** Where a {@linkcode TextInput} hands what it finds. */
export interface TextInputHandler {
  /** A complete line or burst, without its line ending; the view is valid only during the call. */
  text(bytes: Uint8Array): void;
  /** The mode is known (called once, before the first `text`). */
  mode(mode: TextMode): void;
  /** Bytes to send straight back (telnet answers). */
  reply(bytes: Uint8Array): void;
  /** Something thrown while handling a pause, outside any `push` (a `too_large`, a bug). */
  error(error: unknown): void;
  /** A pause was handled (a burst may have ended): the session updates its frame deadline. */
  paused(): void;
}

/** Options of a {@linkcode TextInput}. */
export interface TextInputOptions {
  /** The longest line or burst accepted, in bytes. */
  readonly maxBytes: number;
  /** How long a raw client must be quiet for its burst to end, in milliseconds. */
  readonly pauseMs: number;
  /** A clock in milliseconds; tests may replace it. */
  readonly now?: () => number;
}

const LF = 0x0a;

/**
 * The pause after each write to a raw client. Raw clients read with one `recv(2048)` and split
 * what they get on `~`, so two events read at once garble both; one write per event, a moment
 * apart, makes that unlikely without any help from the client (50 events in half a second).
 */
export const RAW_WRITE_GAP_MS = 10;

/**
 * Reads a text connection. Owns one timer at most, only while a raw burst (or the first bytes
 * of a connection that may be raw) is open; {@linkcode close} clears it.
 *
 * @example A line client
 * ```ts
 * import assert from "node:assert/strict";
 * import { TextInput } from "./text_input.ts";
 * const got: string[] = [];
 * const input = new TextInput({
 *   text: (b) => got.push(new TextDecoder().decode(b)),
 *   mode: (m) => got.push(m),
 *   reply: () => {},
 *   error: (e) => { throw e; },
 *   paused: () => {},
 * }, { maxBytes: 100, pauseMs: 300 });
 * input.push(new TextEncoder().encode("alice\nhi\n"));
 * input.close();
 * assert.deepEqual(got, ["line", "alice", "hi"]);
 * ```
 */
export class TextInput {
  #handler: TextInputHandler;
  #pauseMs: number;
  #now: () => number;
  #mode: TextMode | undefined;
  #raw: RawParser;
  #line: LineParser | null = null;
  #telnet: TelnetFilter | null = null;
  #lastByteAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * @param handler where lines, bursts, the mode and telnet answers go
   * @param options the length cap and the pause
   */
  constructor(handler: TextInputHandler, options: TextInputOptions) {
    this.#handler = handler;
    this.#pauseMs = options.pauseMs;
    this.#now = options.now ?? Date.now;
    this.#raw = new RawParser((burst) => this.#handler.text(burst), {
      maxBurstBytes: options.maxBytes,
    });
  }

  /** The mode, once known. */
  get mode(): TextMode | undefined {
    return this.#mode;
  }

  /** How many bytes of an unfinished line or burst are held. */
  get bufferedBytes(): number {
    return this.#line !== null ? this.#line.bufferedBytes : this.#raw.bufferedBytes;
  }

  /** The longest line or burst accepted, in bytes. */
  set maxBytes(value: number) {
    this.#raw.maxBurstBytes = value;
    if (this.#line !== null) this.#line.maxLineBytes = value;
  }

  /**
   * Feeds bytes as they are read.
   *
   * @param chunk the bytes; no reference is kept after returning
   * @throws {FramingError} `too_large` for a line or burst over the cap
   */
  push(chunk: Uint8Array): void {
    if (this.#closed || chunk.length === 0) return;
    if (this.#mode === "line") return this.#pushLine(chunk);
    if (this.#mode === undefined && (chunk.indexOf(LF) !== -1 || chunk.indexOf(IAC) !== -1)) {
      // A line client (or telnet): what was held so far is the start of its first line.
      const held = this.#raw.take();
      this.#startLine();
      if (held.length > 0) this.#pushLine(held);
      return this.#pushLine(chunk);
    }
    this.#raw.push(chunk);
    this.#lastByteAt = this.#now();
    if (this.#timer === undefined) this.#arm(this.#pauseMs);
  }

  /**
   * Ends the input (the peer closed its side): a last unfinished line or burst is handed over.
   *
   * @throws {FramingError} if the input had already failed
   */
  flush(): void {
    this.#clearTimer();
    if (this.#line !== null) return this.#line.flush();
    if (this.#raw.bufferedBytes === 0) return;
    if (this.#mode === undefined) this.#decide("line");
    this.#raw.flush();
  }

  /** Stops the timer and ignores further input; safe to call twice. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
  }

  #startLine(): void {
    this.#clearTimer();
    this.#telnet = new TelnetFilter();
    this.#line = new LineParser((line) => this.#handler.text(line), {
      maxLineBytes: this.#raw.maxBurstBytes,
    });
    this.#decide("line");
  }

  #pushLine(chunk: Uint8Array): void {
    const { data, reply } = this.#telnet!.push(chunk);
    if (reply !== null) this.#handler.reply(reply);
    this.#line!.push(data);
  }

  #decide(mode: TextMode): void {
    this.#mode = mode;
    this.#handler.mode(mode);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#onTimer, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    if (this.#closed || this.#mode === "line") return;
    const quiet = this.#now() - this.#lastByteAt;
    // Bytes came in since the timer was set: wait for the rest of the pause from the last one.
    if (quiet < this.#pauseMs) return this.#arm(this.#pauseMs - quiet);
    try {
      if (this.#mode === undefined) this.#decide("raw");
      if (!this.#closed) this.#raw.endBurst();
    } catch (error) {
      this.#handler.error(error);
    }
    this.#handler.paused();
  };
}
