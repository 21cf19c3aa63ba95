/**
 * Fingerprints as OpenSSH prints them (`SHA256:` + base64 without padding of a SHA-256 digest),
 * for identity keys and TLS certificates alike, and the base64url encoding the identity fields
 * use (RFC 4648 section 5, without padding).
 *
 * @module
 */

/** The prefix of every fingerprint. */
export const FINGERPRINT_PREFIX = "SHA256:";

/**
 * Encodes bytes as base64url without padding.
 *
 * @param bytes the bytes
 * @returns the text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBase64Url } from "./fingerprint.ts";
 * assert.ok(encodeBase64Url(new Uint8Array([0xfb, 0xff])) === "-_8");
 * ```
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  return _base64(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * Decodes base64url without padding, strictly: any other character, padding, or a length no
 * encoding produces is refused.
 *
 * @param text the text
 * @returns the bytes, or undefined when the text is not strict base64url
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBase64Url } from "./fingerprint.ts";
 * assert.ok(decodeBase64Url("-_8")?.length === 2);
 * assert.ok(decodeBase64Url("a+b=") === undefined);
 * ```
 */
export function decodeBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const standard = text.replace(/-/g, "+").replace(/_/g, "/");
  let binary: string;
  try {
    binary = atob(standard + "=".repeat((4 - standard.length % 4) % 4));
  } catch {
    return undefined;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // Refuse non-canonical texts (unused low bits set), so one value has one spelling.
  return encodeBase64Url(bytes) === text ? bytes : undefined;
}

/**
 * The fingerprint of some bytes: a raw Ed25519 public key, or a certificate's DER.
 *
 * @param bytes the key or certificate
 * @returns `SHA256:...` (43 base64 characters, no padding)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { certificateFingerprint } from "./fingerprint.ts";
 * const fingerprint = await certificateFingerprint(new Uint8Array(32));
 * assert.ok(fingerprint === "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU");
 * ```
 */
export async function certificateFingerprint(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return FINGERPRINT_PREFIX + _base64(digest).replace(/=+$/, "");
}

/** The fingerprint of a raw public key; the same rule as {@linkcode certificateFingerprint}. */
export const keyFingerprint: (rawPublicKey: Uint8Array) => Promise<string> = certificateFingerprint;

/**
 * Turns the colon-separated hex SHA-256 that `node:tls` reports (`fingerprint256`) into a
 * fingerprint.
 *
 * @param hex such as `AB:CD:...` (32 bytes)
 * @returns `SHA256:...`, or undefined when the text is not 32 hex bytes
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fingerprintFromHex } from "./fingerprint.ts";
 * assert.ok(fingerprintFromHex(Array(32).fill("00").join(":"))?.startsWith("SHA256:AAAA"));
 * ```
 */
export function fingerprintFromHex(hex: string): string | undefined {
  const parts = hex.split(":");
  if (parts.length !== 32 || parts.some((p) => !/^[0-9A-Fa-f]{2}$/.test(p))) return undefined;
  const bytes = Uint8Array.from(parts, (p) => parseInt(p, 16));
  return FINGERPRINT_PREFIX + _base64(bytes).replace(/=+$/, "");
}

/**
 * Tells whether a text is a well-formed fingerprint (`SHA256:` and 43 base64 characters).
 *
 * @param text the text
 */
export function isFingerprint(text: string): boolean {
  return /^SHA256:[A-Za-z0-9+/]{43}$/.test(text);
}

function _base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
