/**
 * A push parser for frame64: bytes in, frame bodies out, with no I/O. The server feeds it each
 * chunk it reads; the {@linkcode Frame64DecoderStream} wraps it for Web Streams.
 *
 * @module
 */

import { FramingError } from "./errors.ts";
import { DIGIT_0, DIGIT_9, HEADER_BYTES, SPACE } from "./frame64.ts";

/** Options of a {@linkcode Frame64Parser}. */
export interface Frame64ParserOptions {
  /** The largest body accepted, in bytes; a larger declared length is `too_large`. */
  readonly maxBodyBytes: number;
}

/** Receives each complete, non-empty body. The view is valid only during the call. */
export type BodyHandler = (body: Uint8Array) => void;

/**
 * An object that receives each complete, non-empty body, as {@linkcode BodyHandler} does. A
 * server's parser of one connection is one, so that thousands of idle connections do not each
 * keep a closure (and its context) for it.
 */
export interface BodySink {
  /** Takes a body; the view is valid only during the call. */
  onBody(body: Uint8Array): void;
}

/**
 * Parses frame64 bytes incrementally. Headers are validated strictly (ASCII digits, then ASCII
 * spaces, 64 bytes in all) and byte by byte, so a bad header fails as soon as its first bad byte
 * arrives. A declared length above the cap fails before a byte of the body is buffered. Keepalive
 * frames (length 0) are skipped. A body that lies whole inside one chunk is handed over as a view
 * of that chunk, without copying; a body split across chunks is gathered into one buffer of its
 * exact length. So the parser never holds more than the cap plus 64 bytes.
 *
 * After a {@linkcode FramingError} the parser is failed and rejects every later chunk.
 *
 * @example Parse two frames that arrive split and coalesced
 * ```ts
 * import assert from "node:assert/strict";
 * import { Frame64Parser } from "./frame64_parser.ts";
 * import { encodeFrame } from "./frame64.ts";
 * const bodies: string[] = [];
 * const parser = new Frame64Parser((body) => bodies.push(new TextDecoder().decode(body)), {
 *   maxBodyBytes: 1024,
 * });
 * const bytes = new Uint8Array([
 *   ...encodeFrame(new TextEncoder().encode("hello")),
 *   ...encodeFrame(new TextEncoder().encode("world")),
 * ]);
 * parser.push(bytes.subarray(0, 30));
 * parser.push(bytes.subarray(30));
 * assert.ok(bodies.join(",") === "hello,world");
 * ```
 */
export class Frame64Parser {
  #sink: BodySink;
  #maxBodyBytes: number;
  /** Header bytes gathered so far, when a header spans chunks. */
  #header: Uint8Array | null = null;
  #headerFill = 0;
  /** Declared length while gathering a header: digits seen so far. */
  #length = 0;
  /** True once a space has been seen in the current header. */
  #inPadding = false;
  /** Body gathered so far, when a body spans chunks. */
  #body: Uint8Array | null = null;
  #bodyFill = 0;
  #failure: FramingError | null = null;

  /**
   * @param onBody called with each complete body (not with keepalives), or an object whose
   *   `onBody` is
   * @param options the body size cap
   */
  constructor(onBody: BodyHandler | BodySink, options: Frame64ParserOptions) {
    this.#sink = typeof onBody === "function" ? { onBody } : onBody;
    this.#maxBodyBytes = options.maxBodyBytes;
  }

  /** The current body size cap in bytes; it may be raised after a handshake. */
  get maxBodyBytes(): number {
    return this.#maxBodyBytes;
  }
  set maxBodyBytes(value: number) {
    this.#maxBodyBytes = value;
  }

  /** True while a frame has started but not finished (for the frame deadline). */
  get inFrame(): boolean {
    return this.#headerFill > 0 || this.#body !== null;
  }

  /** How many bytes the parser holds between chunks. */
  get bufferedBytes(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /** The error that failed the parser, if any. */
  get failure(): FramingError | null {
    return this.#failure;
  }

  /**
   * Feeds one chunk; calls the body handler for every frame it completes.
   *
   * @param chunk the bytes, in order; the parser does not keep a reference after returning
   * @throws {FramingError} `bad_frame` for a malformed header, `too_large` for a length above the cap
   */
  push(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.#body !== null) {
        offset = this.#continueBody(chunk, offset);
        continue;
      }
      if (this.#headerFill === 0 && end - offset >= HEADER_BYTES) {
        // Fast path: a whole header inside this chunk.
        const length = this.#parseWholeHeader(chunk, offset);
        offset += HEADER_BYTES;
        if (length === 0) continue;
        if (end - offset >= length) {
          const bodyEnd = offset + length;
          this.#sink.onBody(chunk.subarray(offset, bodyEnd));
          offset = bodyEnd;
        } else {
          this.#startBody(length);
        }
        continue;
      }
      offset = this.#continueHeader(chunk, offset);
    }
  }

  #fail(error: FramingError): never {
    this.#failure = error;
    this.#header = null;
    this.#headerFill = 0;
    this.#body = null;
    this.#bodyFill = 0;
    throw error;
  }

  #badHeader(bytes: Uint8Array): never {
    return this.#fail(
      new FramingError(
        "bad_frame",
        `Frame header must be ASCII digits followed by spaces, 64 bytes in all: "${
          describeBytes(bytes)
        }"`,
      ),
    );
  }

  #tooLarge(length: number | string): never {
    return this.#fail(
      new FramingError(
        "too_large",
        `Frame of ${length} bytes is larger than the limit of ${this.#maxBodyBytes} bytes`,
      ),
    );
  }

  #parseWholeHeader(chunk: Uint8Array, start: number): number {
    let length = 0;
    let i = start;
    const end = start + HEADER_BYTES;
    for (; i < end; i++) {
      const byte = chunk[i]!;
      if (byte < DIGIT_0 || byte > DIGIT_9) break;
      length = length * 10 + (byte - DIGIT_0);
      // Refused at the same byte as in the incremental path, so splits never change the result.
      if (length > this.#maxBodyBytes) this.#tooLarge(digitsOf(chunk, start, i + 1));
    }
    for (; i < end; i++) {
      // Quoted up to the first bad byte, as the incremental path does, so splits never matter.
      if (chunk[i] !== SPACE) this.#badHeader(chunk.subarray(start, i + 1));
    }
    return length;
  }

  #continueHeader(chunk: Uint8Array, offset: number): number {
    this.#header ??= new Uint8Array(HEADER_BYTES);
    const header = this.#header;
    const take = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - offset);
    for (let i = 0; i < take; i++) {
      const byte = chunk[offset + i]!;
      header[this.#headerFill++] = byte;
      if (byte === SPACE) {
        this.#inPadding = true;
      } else if (byte >= DIGIT_0 && byte <= DIGIT_9 && !this.#inPadding) {
        this.#length = this.#length * 10 + (byte - DIGIT_0);
        if (this.#length > this.#maxBodyBytes) {
          this.#tooLarge(digitsOf(header, 0, this.#headerFill));
        }
      } else {
        this.#badHeader(header.subarray(0, this.#headerFill));
      }
    }
    offset += take;
    if (this.#headerFill === HEADER_BYTES) {
      const length = this.#length;
      this.#headerFill = 0;
      this.#length = 0;
      this.#inPadding = false;
      if (length > 0) this.#startBody(length);
    }
    return offset;
  }

  #startBody(length: number): void {
    this.#body = new Uint8Array(length);
    this.#bodyFill = 0;
  }

  #continueBody(chunk: Uint8Array, offset: number): number {
    const body = this.#body!;
    const take = Math.min(body.length - this.#bodyFill, chunk.length - offset);
    body.set(chunk.subarray(offset, offset + take), this.#bodyFill);
    this.#bodyFill += take;
    if (this.#bodyFill === body.length) {
      this.#body = null;
      this.#bodyFill = 0;
      this.#sink.onBody(body);
    }
    return offset + take;
  }
}

function digitsOf(bytes: Uint8Array, start: number, end: number): string {
  let digits = "";
  for (let i = start; i < end && digits.length < 40; i++) {
    const byte = bytes[i]!;
    if (byte < DIGIT_0 || byte > DIGIT_9) break;
    digits += String.fromCharCode(byte);
  }
  return digits.length >= 40 ? `${digits}...` : digits;
}

/** Shows header bytes readably: printable ASCII as is, anything else as \xNN, trailing spaces cut. */
function describeBytes(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === SPACE) end--;
  let text = "";
  for (let i = 0; i < end && i < 24; i++) {
    const byte = bytes[i]!;
    text += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c
      ? String.fromCharCode(byte)
      : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return end > 24 ? `${text}...` : text;
}
