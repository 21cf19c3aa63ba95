/**
 * The benchmark's chat text: exactly 64 printable ASCII bytes that carry the sender, a sequence
 * number and the send time, and check themselves, so a receiver can tell a delivery from a
 * damaged one without keeping a copy of what was sent. Also the `say` frame that carries it.
 *
 * Layout: `#b` + sender (5 digits) + `.` + sequence (10 digits) + `.` + send time in µs
 * (13 digits) + `.` + 30 padding letters (one letter chosen by sender and sequence) + `$`.
 * There is no `"` or `\` in it, so JSON carries it unchanged.
 *
 * @module
 */

import { HEADER_BYTES, writeHeader } from "../protocol/frame64.ts";

/** The length of every benchmark text in bytes. */
export const BENCH_TEXT_BYTES = 64;

/** The largest sender number a text can carry. */
export const MAX_SENDER = 99_999;
/** The largest sequence number a text can carry. */
export const MAX_SEQ = 9_999_999_999;
/** The largest send time (µs) a text can carry. */
export const MAX_SENT_US = 9_999_999_999_999;

const _SENDER_AT = 2;
const _SENDER_DIGITS = 5;
const _SEQ_AT = 8;
const _SEQ_DIGITS = 10;
const _TIME_AT = 19;
const _TIME_DIGITS = 13;
const _PAD_AT = 33;
const _END_AT = BENCH_TEXT_BYTES - 1;
const _HASH = 0x23;
const _LETTER_B = 0x62;
const _DOT = 0x2e;
const _DOLLAR = 0x24;
const _LETTER_A = 0x61;

/** What a benchmark text carries. The reader fills one in place, so no object is made per text. */
export interface BenchStamp {
  /** The sender's number (also its client index in the load process). */
  sender: number;
  /** The sender's sequence number, from 0. */
  seq: number;
  /** The send time in whole microseconds on the load process's clock. */
  sentUs: number;
}

function _padLetter(sender: number, seq: number): number {
  return _LETTER_A + (sender * 7 + seq) % 26;
}

function _writeDigits(target: Uint8Array, at: number, digits: number, value: number): void {
  for (let i = at + digits - 1; i >= at; i--) {
    target[i] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
}

/** Reads `digits` ASCII digits; -1 if any byte is not a digit. */
function _readDigits(bytes: Uint8Array, at: number, digits: number): number {
  let value = 0;
  for (let i = at; i < at + digits; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Writes a benchmark text into `target` at `offset` (64 bytes).
 *
 * @param target where to write
 * @param offset the index of the text's first byte
 * @param stamp what the text carries; `sentUs` is rounded to a whole microsecond
 * @throws {RangeError} if a field is negative, not finite, or too large for its digits
 * @example Write and read back a text
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBenchText, writeBenchText } from "./message.ts";
 * const bytes = new Uint8Array(64);
 * writeBenchText(bytes, 0, { sender: 3, seq: 41, sentUs: 1234.4 });
 * const stamp = { sender: 0, seq: 0, sentUs: 0 };
 * assert.ok(readBenchText(bytes, 0, 64, stamp) && stamp.seq === 41 && stamp.sentUs === 1234);
 * ```
 */
export function writeBenchText(target: Uint8Array, offset: number, stamp: BenchStamp): void {
  const sentUs = Math.round(stamp.sentUs);
  _checkField("sender", stamp.sender, MAX_SENDER);
  _checkField("sequence number", stamp.seq, MAX_SEQ);
  _checkField("send time", sentUs, MAX_SENT_US);
  target[offset] = _HASH;
  target[offset + 1] = _LETTER_B;
  _writeDigits(target, offset + _SENDER_AT, _SENDER_DIGITS, stamp.sender);
  target[offset + _SEQ_AT - 1] = _DOT;
  _writeDigits(target, offset + _SEQ_AT, _SEQ_DIGITS, stamp.seq);
  target[offset + _TIME_AT - 1] = _DOT;
  _writeDigits(target, offset + _TIME_AT, _TIME_DIGITS, sentUs);
  target[offset + _PAD_AT - 1] = _DOT;
  target.fill(_padLetter(stamp.sender, stamp.seq), offset + _PAD_AT, offset + _END_AT);
  target[offset + _END_AT] = _DOLLAR;
}

function _checkField(what: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(
      `Benchmark text ${what} must be a whole number from 0 to ${max}: "${value}"`,
    );
  }
}

/**
 * Reads a benchmark text from `bytes[start, end)` into `out`, checking its length, marker,
 * digits, separators, padding and final `$`.
 *
 * @param bytes the bytes that hold the text
 * @param start the index of the text's first byte
 * @param end the index just past the text's last byte
 * @param out filled with what the text carries when it is intact
 * @returns true if the text is intact, false if it is damaged (then `out` is unspecified)
 */
export function readBenchText(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: BenchStamp,
): boolean {
  if (end - start !== BENCH_TEXT_BYTES || end > bytes.length || start < 0) return false;
  if (bytes[start] !== _HASH || bytes[start + 1] !== _LETTER_B) return false;
  if (bytes[start + _SEQ_AT - 1] !== _DOT || bytes[start + _TIME_AT - 1] !== _DOT) return false;
  if (bytes[start + _PAD_AT - 1] !== _DOT || bytes[start + _END_AT] !== _DOLLAR) return false;
  const sender = _readDigits(bytes, start + _SENDER_AT, _SENDER_DIGITS);
  const seq = _readDigits(bytes, start + _SEQ_AT, _SEQ_DIGITS);
  const sentUs = _readDigits(bytes, start + _TIME_AT, _TIME_DIGITS);
  if (sender < 0 || seq < 0 || sentUs < 0) return false;
  const letter = _padLetter(sender, seq);
  for (let i = start + _PAD_AT; i < start + _END_AT; i++) {
    if (bytes[i] !== letter) return false;
  }
  out.sender = sender;
  out.seq = seq;
  out.sentUs = sentUs;
  return true;
}

const _SAY_OPEN = new TextEncoder().encode('{"type":"say","text":"');
const _SAY_CLOSE = new TextEncoder().encode('"}');
const _SAY_BODY_BYTES = _SAY_OPEN.length + BENCH_TEXT_BYTES + _SAY_CLOSE.length;

/** The length of a whole `say` frame that carries a benchmark text: header and JSON body. */
export const SAY_FRAME_BYTES: number = HEADER_BYTES + _SAY_BODY_BYTES;

/**
 * Writes a frame64 `say` event carrying a benchmark text into `target` at `offset`
 * ({@linkcode SAY_FRAME_BYTES} bytes).
 *
 * @param target where to write
 * @param offset the index of the frame's first byte
 * @param stamp what the text carries
 * @throws {RangeError} if a field does not fit (see {@linkcode writeBenchText})
 * @example Frame one message
 * ```ts
 * import assert from "node:assert/strict";
 * import { SAY_FRAME_BYTES, writeSayFrame } from "./message.ts";
 * const frame = new Uint8Array(SAY_FRAME_BYTES);
 * writeSayFrame(frame, 0, { sender: 1, seq: 0, sentUs: 5 });
 * const body = JSON.parse(new TextDecoder().decode(frame.subarray(64)));
 * assert.ok(body.type === "say" && body.text.length === 64);
 * ```
 */
export function writeSayFrame(target: Uint8Array, offset: number, stamp: BenchStamp): void {
  writeHeader(_SAY_BODY_BYTES, target, offset);
  const body = offset + HEADER_BYTES;
  target.set(_SAY_OPEN, body);
  writeBenchText(target, body + _SAY_OPEN.length, stamp);
  target.set(_SAY_CLOSE, body + _SAY_OPEN.length + BENCH_TEXT_BYTES);
}
