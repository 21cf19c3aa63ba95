/**
 * The frame64 header: a body's length in bytes as ASCII decimal digits, right-padded with
 * spaces to exactly 64 bytes (the framing of the classic Python socket chat).
 *
 * @module
 */

/** The size of every frame64 header in bytes. */
export const HEADER_BYTES = 64;

/** ASCII space, the header's padding byte. */
export const SPACE = 0x20;
/** ASCII "0". */
export const DIGIT_0 = 0x30;
/** ASCII "9". */
export const DIGIT_9 = 0x39;

/** A keepalive frame: a header of 64 spaces (length 0) and no body. */
export const KEEPALIVE_FRAME: Uint8Array = new Uint8Array(HEADER_BYTES).fill(SPACE);

const encoder = new TextEncoder();
let scratch = new Uint8Array(64 * 1024);

/**
 * Writes the header for a body of `length` bytes into `target` at `offset`.
 *
 * @param length the body length, a non-negative safe integer
 * @param target where to write the 64 header bytes
 * @param offset the index of the header's first byte in `target`
 * @throws {RangeError} if the length is negative, not an integer, or has more than 64 digits
 * @example Write a header
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeHeader } from "./frame64.ts";
 * const header = new Uint8Array(64);
 * writeHeader(12, header, 0);
 * assert.ok(new TextDecoder().decode(header) === "12" + " ".repeat(62));
 * ```
 */
export function writeHeader(length: number, target: Uint8Array, offset: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`Frame length must be a non-negative integer: "${length}"`);
  }
  target.fill(SPACE, offset, offset + HEADER_BYTES);
  if (length === 0) return;
  const digits = String(length);
  for (let i = 0; i < digits.length; i++) target[offset + i] = digits.charCodeAt(i);
}

/**
 * Encodes one frame: header and body in a single new buffer.
 *
 * @param body the body bytes
 * @returns the 64-byte header followed by the body
 * @example Frame a body
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame } from "./frame64.ts";
 * const frame = encodeFrame(new TextEncoder().encode("hi"));
 * assert.ok(frame.length === 66);
 * ```
 */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HEADER_BYTES + body.length);
  writeHeader(body.length, frame, 0);
  frame.set(body, HEADER_BYTES);
  return frame;
}

/**
 * Encodes a text as one frame whose body is the text's UTF-8 bytes, in one exact-size buffer.
 *
 * @param text the body as a string
 * @returns the 64-byte header followed by the UTF-8 body
 * @example Frame a JSON event
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeTextFrame } from "./frame64.ts";
 * const frame = encodeTextFrame('{"type":"who"}');
 * assert.ok(new TextDecoder().decode(frame.subarray(0, 2)) === "14");
 * ```
 */
export function encodeTextFrame(text: string): Uint8Array {
  const maxBytes = text.length * 3;
  if (scratch.length < maxBytes) scratch = new Uint8Array(maxBytes);
  const { written } = encoder.encodeInto(text, scratch);
  const frame = new Uint8Array(HEADER_BYTES + written);
  writeHeader(written, frame, 0);
  frame.set(scratch.subarray(0, written), HEADER_BYTES);
  return frame;
}

/**
 * Tells whether a byte may appear in a frame64 header at all (a digit or a space).
 *
 * @param byte one byte
 * @returns true for ASCII digits and the space
 */
export function isHeaderByte(byte: number): boolean {
  return byte === SPACE || (byte >= DIGIT_0 && byte <= DIGIT_9);
}
