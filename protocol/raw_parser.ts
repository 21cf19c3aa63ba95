/**
 * A push parser for raw clients (the socket-chat tutorials that send bare bytes, with no header
 * and no newline): bytes gather into a burst, and the caller ends the burst when the sender has
 * paused. No I/O and no timers: the session owns the clock.
 *
 * @module
 */

import { FramingError } from "./errors.ts";

/** Receives each finished burst. The view is valid only during the call. */
export type BurstHandler = (burst: Uint8Array) => void;

/** Options of a {@linkcode RawParser}. */
export interface RawParserOptions {
  /** The longest burst accepted, in bytes. */
  readonly maxBurstBytes: number;
}

/**
 * How many bytes at the end of `bytes` are the start of a UTF-8 character whose remaining bytes
 * have not arrived yet (0 when the bytes end on a character boundary, or when the tail is not
 * the start of any valid character: that is for the decoder to refuse).
 *
 * @param bytes the bytes so far
 * @returns 0 to 3
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { incompleteUtf8Tail } from "./raw_parser.ts";
 * const e = new TextEncoder().encode("é"); // two bytes
 * assert.equal(incompleteUtf8Tail(e), 0);
 * assert.equal(incompleteUtf8Tail(e.subarray(0, 1)), 1);
 * ```
 */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  // Look back over at most three continuation bytes for the lead byte.
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking
    const needed = byte >= 0xf0 && byte <= 0xf4
      ? 4
      : byte >= 0xe0 && byte <= 0xef
      ? 3
      : byte >= 0xc2 && byte <= 0xdf
      ? 2
      : 1;
    return needed > back ? back : 0;
  }
  return 0;
}

/**
 * Gathers the bytes of a raw client's burst, capped: a burst over the cap is refused with
 * `too_large` as an over-long line is, and nothing past the cap is ever kept. The buffer grows by
 * doubling, so a burst that arrives one byte at a time costs linear time.
 *
 * A burst that ends in the middle of a UTF-8 character is not finished: {@linkcode endBurst}
 * keeps it open (the rest of the character is on its way, since a sender encodes whole strings),
 * so a pause inside a character never splits a message or turns it into `bad_utf8`.
 *
 * @example Two bursts
 * ```ts
 * import assert from "node:assert/strict";
 * import { RawParser } from "./raw_parser.ts";
 * const bursts: string[] = [];
 * const parser = new RawParser((b) => bursts.push(new TextDecoder().decode(b)), {
 *   maxBurstBytes: 100,
 * });
 * parser.push(new TextEncoder().encode("al"));
 * parser.push(new TextEncoder().encode("ice"));
 * parser.endBurst();
 * parser.push(new TextEncoder().encode("hi all"));
 * parser.endBurst();
 * assert.deepEqual(bursts, ["alice", "hi all"]);
 * ```
 */
export class RawParser {
  #onBurst: BurstHandler;
  #maxBurstBytes: number;
  #buffer: Uint8Array = new Uint8Array(0);
  #fill = 0;
  #failure: FramingError | null = null;

  /**
   * @param onBurst called with each finished burst
   * @param options the burst length cap
   */
  constructor(onBurst: BurstHandler, options: RawParserOptions) {
    this.#onBurst = onBurst;
    this.#maxBurstBytes = options.maxBurstBytes;
  }

  /** The current burst length cap in bytes. */
  get maxBurstBytes(): number {
    return this.#maxBurstBytes;
  }
  set maxBurstBytes(value: number) {
    this.#maxBurstBytes = value;
  }

  /** How many bytes of an unfinished burst the parser holds. */
  get bufferedBytes(): number {
    return this.#fill;
  }

  /**
   * Adds bytes to the current burst.
   *
   * @param chunk the bytes, in order; the parser keeps no reference after returning
   * @throws {FramingError} `too_large` when the burst exceeds the cap
   */
  push(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    if (chunk.length === 0) return;
    const needed = this.#fill + chunk.length;
    if (needed > this.#maxBurstBytes) this.#tooLong();
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(
        Math.min(Math.max(needed, this.#buffer.length * 2, 64), this.#maxBurstBytes),
      );
      grown.set(this.#buffer.subarray(0, this.#fill));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#fill);
    this.#fill = needed;
  }

  /**
   * Ends the current burst (the sender paused): hands it over, unless it is empty or ends in the
   * middle of a UTF-8 character, in which case it stays open.
   *
   * @returns true when a burst was handed over
   * @throws {FramingError} if the parser had failed
   */
  endBurst(): boolean {
    if (this.#failure) throw this.#failure;
    if (this.#fill === 0) return false;
    if (incompleteUtf8Tail(this.#buffer.subarray(0, this.#fill)) > 0) return false;
    this.#handOver();
    return true;
  }

  /**
   * Ends the input: whatever is buffered is handed over as a last burst, finished or not (an
   * unfinished character is then the decoder's `bad_utf8`).
   *
   * @throws {FramingError} if the parser had failed
   */
  flush(): void {
    if (this.#failure) throw this.#failure;
    if (this.#fill > 0) this.#handOver();
  }

  /**
   * Takes the unfinished burst out without handing it to the burst handler (the connection
   * turned out to be a line client, and these bytes belong to its first line).
   *
   * @returns a copy of the buffered bytes
   */
  take(): Uint8Array {
    const bytes = this.#buffer.slice(0, this.#fill);
    this.#fill = 0;
    this.#buffer = new Uint8Array(0);
    return bytes;
  }

  #handOver(): void {
    const burst = this.#buffer.subarray(0, this.#fill);
    this.#fill = 0;
    // A large buffer is not kept for a connection that goes quiet after one long message.
    if (this.#buffer.length > 4096) this.#buffer = new Uint8Array(0);
    this.#onBurst(burst);
  }

  #tooLong(): never {
    this.#failure = new FramingError(
      "too_large",
      `Message is longer than the limit of ${this.#maxBurstBytes} bytes`,
    );
    this.#buffer = new Uint8Array(0);
    this.#fill = 0;
    throw this.#failure;
  }
}
