/**
 * The user's identity: an Ed25519 key pair in one file, `$XDG_CONFIG_HOME/chat/identity`
 * (a JSON Web Key, mode 0600), made on first use. Copying that one file to another machine moves
 * the identity; losing it loses the names it owns until they lapse on the server.
 *
 * @module
 */

import { encodeBase64Url, keyFingerprint } from "../protocol/fingerprint.ts";

/** The identity file's name in the config dir. */
export const IDENTITY_FILE = "identity";

/** A key pair that can answer a server's challenge. */
export interface Identity {
  /** base64url of the raw 32-byte public key, as `hello.key` carries it. */
  readonly publicKey: string;
  /** `SHA256:...` of the public key. */
  readonly fingerprint: string;
  /**
   * Signs the challenge answer: `chat-auth-v1\n` + nonce + `\n` + name.
   *
   * @param nonce the nonce as the server sent it
   * @param name the name as sent in `hello`
   * @returns the signature, base64url
   */
  sign(nonce: string, name: string): Promise<string>;
}

/** Why the identity file cannot be used; the message names the file and the fix. */
export class IdentityError extends Error {
  /** @param message a sentence a person can act on */
  constructor(message: string) {
    super(message);
    this.name = "IdentityError";
  }
}

/**
 * Makes an identity from a key pair.
 *
 * @param keys an Ed25519 key pair whose public key is extractable
 * @returns the identity
 */
export async function identityOf(keys: CryptoKeyPair): Promise<Identity> {
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  return {
    publicKey: encodeBase64Url(raw),
    fingerprint: await keyFingerprint(raw),
    sign: async (nonce, name) => {
      const text = new TextEncoder().encode(`chat-auth-v1\n${nonce}\n${name}`);
      const signature = await crypto.subtle.sign({ name: "Ed25519" }, keys.privateKey, text);
      return encodeBase64Url(new Uint8Array(signature));
    },
  };
}

/**
 * Makes a new identity that lives only in memory (tests, benchmarks).
 *
 * @returns the identity
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newIdentity } from "./identity.ts";
 * const identity = await newIdentity();
 * assert.ok(identity.fingerprint.startsWith("SHA256:") && identity.publicKey.length === 43);
 * ```
 */
export async function newIdentity(): Promise<Identity> {
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  return await identityOf(keys as CryptoKeyPair);
}

/**
 * Loads the identity from its file, making the file (0600, in a 0700 dir) on first use.
 *
 * @param path the identity file
 * @returns the identity, and whether it was just made
 * @throws {IdentityError} when the file is readable by others, unreadable or not a key
 */
export async function loadIdentity(
  path: string,
): Promise<{ identity: Identity; created: boolean }> {
  let text: string | undefined;
  try {
    const info = Deno.statSync(path);
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      throw new IdentityError(
        `${path} can be read or written by others (mode ${(info.mode & 0o777).toString(8)}): ` +
          `your identity is not private. Run 'chmod 600 ${path}' if it is still yours`,
      );
    }
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof IdentityError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new IdentityError(
        `Cannot read your identity ${path}: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  if (text !== undefined) return { identity: await _parse(path, text), created: false };
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", (keys as CryptoKeyPair).privateKey);
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (dir !== "") Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // createNew: two clients started at once must not each write a different key.
  try {
    Deno.writeTextFileSync(path, JSON.stringify(jwk) + "\n", { mode: 0o600, createNew: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return await loadIdentity(path);
    throw error;
  }
  return { identity: await identityOf(keys as CryptoKeyPair), created: true };
}

async function _parse(path: string, text: string): Promise<Identity> {
  const broken = () =>
    new IdentityError(
      `${path} is not a chat identity (an Ed25519 private key as JSON): restore it from a ` +
        `backup, or move it aside to make a new identity (names it owns stay taken until they lapse)`,
    );
  let jwk: JsonWebKey;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw broken();
  }
  if (
    typeof jwk !== "object" || jwk === null || jwk.kty !== "OKP" || jwk.crv !== "Ed25519" ||
    typeof jwk.d !== "string" || typeof jwk.x !== "string"
  ) throw broken();
  try {
    const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, true, [
      "sign",
    ]);
    const publicKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", x: jwk.x },
      { name: "Ed25519" },
      true,
      ["verify"],
    );
    return await identityOf({ privateKey, publicKey });
  } catch {
    throw broken();
  }
}
