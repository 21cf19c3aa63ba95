/**
 * Chooses a connection's framing from its first bytes, as the contract says: 64 bytes of ASCII
 * digits then ASCII spaces select frame64; a LF within the first 64 bytes, or any byte that
 * cannot continue "digits, then spaces", selects line mode.
 *
 * @module
 */

import { DIGIT_0, DIGIT_9, HEADER_BYTES, SPACE } from "./frame64.ts";

/** The two framings a connection can speak. */
export type Framing = "frame64" | "line";

/**
 * Decides the framing from the bytes received so far.
 *
 * @param prefix the first bytes of the connection (any length)
 * @returns the framing, or `undefined` when more bytes are needed to decide
 * @example Decide from first bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectFraming } from "./detect.ts";
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * assert.ok(detectFraming(bytes("alice\n")) === "line");
 * assert.ok(detectFraming(bytes("12   ")) === undefined);
 * assert.ok(detectFraming(bytes("5" + " ".repeat(63))) === "frame64");
 * ```
 */
export function detectFraming(prefix: Uint8Array): Framing | undefined {
  const end = Math.min(prefix.length, HEADER_BYTES);
  let inPadding = false;
  for (let i = 0; i < end; i++) {
    const byte = prefix[i]!;
    if (byte === SPACE) {
      inPadding = true;
    } else if (byte < DIGIT_0 || byte > DIGIT_9 || inPadding) {
      return "line";
    }
  }
  return end === HEADER_BYTES ? "frame64" : undefined;
}
