/**
 * Telnet commands in a line client's byte stream (RFC 854): found, removed from the text, and
 * answered. The server offers no telnet options: it refuses every one politely (`WONT` to a
 * `DO`, `DONT` to a `WILL`), except that it answers a `DO TIMING-MARK` with `WILL TIMING-MARK`
 * (RFC 860), because netkit `telnet` discards all output after sending one until the answer
 * comes. No I/O.
 *
 * @module
 */

/** Interpret As Command: every telnet command starts with this byte (never part of UTF-8). */
export const IAC = 0xff;
/** `DONT option`: please stop using the option. */
export const DONT = 0xfe;
/** `DO option`: please use the option. */
export const DO = 0xfd;
/** `WONT option`: I will not use the option. */
export const WONT = 0xfc;
/** `WILL option`: I will use the option. */
export const WILL = 0xfb;
/** Start of a subnegotiation, ended by `IAC SE`. */
export const SB = 0xfa;
/** End of a subnegotiation. */
export const SE = 0xf0;
/** The TIMING-MARK option (RFC 860). */
export const TIMING_MARK = 6;

/**
 * The byte telnet had read when it sent one of these commands instead. With its `localchars`
 * on (the default in line mode), telnet compares only the low 7 bits of what is typed with the
 * terminal's special characters, so a UTF-8 continuation byte such as 0x9C (the middle byte of
 * `✓`) matches QUIT (`^\`, 0x1C) and goes out as `IAC BREAK` (and 0x83 as `IAC IP`, ...). Found
 * in the middle of a UTF-8 character, such a command is that byte, and is put back.
 */
const _TYPED_AS: ReadonlyMap<number, number> = new Map([
  [243, 0x9c], // BREAK: QUIT, ^\
  [244, 0x83], // IP: INTR, ^C
  [245, 0x8f], // AO: FLUSHO, ^O
  [237, 0x9a], // SUSP: SUSP, ^Z
  [236, 0x84], // EOF: EOF, ^D
]);

/** How many continuation bytes the UTF-8 character that `byte` starts needs (0 if none). */
function _continuations(byte: number): number {
  return byte >= 0xf0 && byte <= 0xf4
    ? 3
    : byte >= 0xe0 && byte <= 0xef
    ? 2
    : byte >= 0xc2 && byte <= 0xdf
    ? 1
    : 0;
}

/** How many continuation bytes the text in `chunk` still awaits at its end. */
function _dueAtEnd(chunk: Uint8Array, due: number): number {
  for (const byte of chunk) {
    due = (byte & 0xc0) === 0x80 && due > 0 ? due - 1 : _continuations(byte);
  }
  return due;
}

/** Where the filter stands between two chunks. */
type _State =
  | "data"
  /** After IAC. */
  | "command"
  /** After IAC DO, DONT, WILL or WONT: the option byte comes next. */
  | "option"
  /** Inside a subnegotiation. */
  | "sub"
  /** After an IAC inside a subnegotiation. */
  | "sub_iac";

/** What one chunk of input held once its telnet commands are taken out. */
export interface TelnetResult {
  /** The text bytes, without telnet commands (a view of the chunk when nothing was removed). */
  readonly data: Uint8Array;
  /** The answers to send back, or null when there are none. */
  readonly reply: Uint8Array | null;
}

/**
 * Strips telnet commands from a stream of chunks, keeping its state across chunk boundaries,
 * and says what to answer. `IAC IAC` is a literal 0xFF byte (which the UTF-8 decoder then
 * refuses), and so is an IAC before a byte that is no command (below 240); every other command
 * (`NOP`, `BREAK`, `IP`, `AYT`, `GA`, ...) and every subnegotiation is dropped, except that a
 * `BREAK`, `IP`, `AO`, `SUSP` or `EOF` in the middle of a UTF-8 character is the byte telnet read
 * there and is put back (see `_TYPED_AS`), so `✓` typed in telnet arrives as `✓`. Each option is refused at most once per verb, so a peer that
 * repeats a request cannot make the server repeat its answer without end; a timing mark is
 * answered every time, since the peer waits for each one.
 *
 * @example netkit telnet after a key it cannot send
 * ```ts
 * import assert from "node:assert/strict";
 * import { TelnetFilter } from "./telnet.ts";
 * const filter = new TelnetFilter();
 * // "hi", IAC BREAK, IAC DO TIMING-MARK, "!"
 * const result = filter.push(new Uint8Array([0x68, 0x69, 255, 243, 255, 253, 6, 0x21]));
 * assert.deepEqual([...result.data], [0x68, 0x69, 0x21]); // a BREAK between characters: dropped
 * assert.deepEqual([...result.reply!], [255, 251, 6]); // IAC WILL TIMING-MARK
 * ```
 */
export class TelnetFilter {
  #state: _State = "data";
  #verb = 0;
  /** Options already refused, by verb: bit `option` of the DO and WILL sets. */
  #refusedDo = new Uint8Array(32);
  #refusedWill = new Uint8Array(32);
  /** True once any telnet command has been seen. */
  #seen = false;
  /** Continuation bytes the last character of the text still awaits. */
  #due = 0;

  /** True once the peer has sent any telnet command: it is a telnet client. */
  get seenCommand(): boolean {
    return this.#seen;
  }

  /** True while a command or subnegotiation is unfinished at the end of the last chunk. */
  get inCommand(): boolean {
    return this.#state !== "data";
  }

  /**
   * Takes the telnet commands out of one chunk.
   *
   * @param chunk the bytes, in order
   * @returns the text bytes and the answers to send
   */
  push(chunk: Uint8Array): TelnetResult {
    // The common case, a chunk of plain text: handed back as it is.
    if (this.#state === "data" && chunk.indexOf(IAC) === -1) {
      this.#due = _dueAtEnd(chunk, this.#due);
      return { data: chunk, reply: null };
    }
    const data = new Uint8Array(chunk.length);
    let fill = 0;
    const reply: number[] = [];
    for (const byte of chunk) {
      switch (this.#state) {
        case "data":
          if (byte === IAC) {
            this.#state = "command";
            this.#seen = true;
          } else {
            data[fill++] = byte;
            this.#due = (byte & 0xc0) === 0x80 && this.#due > 0
              ? this.#due - 1
              : _continuations(byte);
          }
          break;
        case "command":
          if (byte === IAC) {
            data[fill++] = IAC;
            this.#state = "data";
          } else if (byte === DO || byte === DONT || byte === WILL || byte === WONT) {
            this.#verb = byte;
            this.#state = "option";
          } else if (byte === SB) {
            this.#state = "sub";
          } else if (this.#due > 0 && _TYPED_AS.has(byte)) {
            // A typed byte that telnet took for a special character: put back (see _TYPED_AS).
            data[fill++] = _TYPED_AS.get(byte)!;
            this.#due--;
            this.#state = "data";
          } else if (byte >= SE) {
            this.#state = "data"; // NOP, BREAK, IP, AYT, GA, DM, SE out of place: dropped
          } else {
            // Not a command (those are 240 to 255): both bytes are text, which keeps a stray
            // 0xFF (never part of UTF-8) and the LF after it for the decoder to refuse as
            // `bad_utf8`, instead of swallowing the line ending.
            data[fill++] = IAC;
            data[fill++] = byte;
            this.#state = "data";
          }
          break;
        case "option":
          this.#answer(this.#verb, byte, reply);
          this.#state = "data";
          break;
        case "sub":
          if (byte === IAC) this.#state = "sub_iac";
          break;
        case "sub_iac":
          // IAC SE ends the subnegotiation; IAC IAC is a 0xFF inside it.
          this.#state = byte === SE ? "data" : "sub";
          break;
      }
    }
    return {
      data: data.subarray(0, fill),
      reply: reply.length === 0 ? null : new Uint8Array(reply),
    };
  }

  #answer(verb: number, option: number, reply: number[]): void {
    if (verb === DO) {
      if (option === TIMING_MARK) {
        reply.push(IAC, WILL, TIMING_MARK);
      } else if (!_take(this.#refusedDo, option)) {
        reply.push(IAC, WONT, option);
      }
    } else if (verb === WILL) {
      if (!_take(this.#refusedWill, option)) reply.push(IAC, DONT, option);
    }
    // DONT and WONT ask for what is already so: answering them could start a loop (RFC 854).
  }
}

/** Marks bit `option` in `set`; returns whether it was marked already. */
function _take(set: Uint8Array, option: number): boolean {
  const index = option >> 3;
  const bit = 1 << (option & 7);
  const had = (set[index]! & bit) !== 0;
  set[index] = set[index]! | bit;
  return had;
}
