/**
 * Tells a TLS client apart from chat clients by its first bytes, so the plain port can answer
 * one at once instead of waiting for a line or a frame that never comes.
 *
 * @module
 */

/**
 * Whether the first bytes of a connection are a TLS handshake record: content type 22
 * (handshake) and major version 3. No chat client starts so: frame64 starts with a digit,
 * text with a printable character.
 *
 * @param bytes the first bytes received (one is enough to say no)
 * @returns true for what a TLS client sends first
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { looksLikeTls } from "./tls_probe.ts";
 * assert.ok(looksLikeTls(new Uint8Array([0x16, 0x03, 0x01])));
 * assert.ok(!looksLikeTls(new TextEncoder().encode("alice\n")));
 * ```
 */
export function looksLikeTls(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x16) return false;
  return bytes.length < 2 || bytes[1] === 0x03;
}
