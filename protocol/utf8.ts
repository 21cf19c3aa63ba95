/**
 * UTF-8 helpers shared by the whole protocol: one strict decoder that refuses invalid bytes, one
 * encoder, and a byte-length count that does not allocate.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Decodes UTF-8 bytes strictly: any invalid sequence (overlong forms, surrogates, truncated
 * characters, stray continuation bytes) is refused instead of being replaced by U+FFFD. A
 * leading byte order mark is dropped.
 *
 * @param bytes the bytes to decode
 * @returns the decoded text
 * @throws {ProtocolError} with code `bad_utf8` when the bytes are not valid UTF-8
 * @example Decode a body
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUtf8 } from "./utf8.ts";
 * assert.ok(decodeUtf8(new Uint8Array([0x68, 0x69])) === "hi");
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new ProtocolError("bad_utf8", "The message is not valid UTF-8 text");
  }
}

/**
 * Encodes text as UTF-8 with the shared encoder. A lone surrogate becomes U+FFFD (3 bytes).
 *
 * @param text the text to encode
 * @returns a new buffer with the UTF-8 bytes
 * @example Encode text
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeUtf8 } from "./utf8.ts";
 * assert.ok(encodeUtf8("é").length === 2);
 * ```
 */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Counts the bytes of the UTF-8 encoding of `text` without encoding it. The count matches what
 * {@linkcode encodeUtf8} produces, including 3 bytes for each lone surrogate.
 *
 * @param text the text to measure
 * @returns its length in UTF-8 bytes
 * @example Measure text
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8Length } from "./utf8.ts";
 * assert.ok(utf8Length("aé€😀") === 1 + 2 + 3 + 4);
 * ```
 */
export function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair: 2 UTF-16 units, 4 bytes.
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
