/**
 * Identity without accounts: the challenge a `hello` with a `key` is answered with, the check
 * of its `auth` signature, and the names that belong to identities (kept in the database).
 *
 * The session only asks this module questions; it keeps no crypto or SQL of its own.
 *
 * @module
 */

import { ProtocolError } from "../protocol/errors.ts";
import { decodeBase64Url, encodeBase64Url, keyFingerprint } from "../protocol/fingerprint.ts";
import { nameKey } from "../protocol/names.ts";
import type { Database } from "../store/database.ts";

/** The first line of every signed challenge answer: the version of what is signed. */
export const AUTH_CONTEXT = "chat-auth-v1";

/** Bytes of an Ed25519 public key. */
const _KEY_BYTES = 32;
/** Bytes of an Ed25519 signature. */
const _SIGNATURE_BYTES = 64;
/** Bytes of a challenge nonce. */
const _NONCE_BYTES = 32;
const _DAY_MS = 24 * 60 * 60 * 1000;

/** A public key a client offered in `hello`, checked and imported. */
export interface OfferedKey {
  /** The key, ready to verify with. */
  readonly key: CryptoKey;
  /** Its fingerprint (`SHA256:...`). */
  readonly fingerprint: string;
}

/**
 * Reads `hello.key`: base64url (no padding) of a 32-byte raw Ed25519 public key.
 *
 * @param text the field as sent
 * @returns the key and its fingerprint, or a `bad_key` error saying what is wrong
 */
export async function readOfferedKey(text: string): Promise<OfferedKey | ProtocolError> {
  const raw = decodeBase64Url(text);
  if (raw === undefined) {
    return new ProtocolError(
      "bad_key",
      'Field "key" must be base64url without padding (RFC 4648 section 5)',
    );
  }
  if (raw.length !== _KEY_BYTES) {
    return new ProtocolError(
      "bad_key",
      `Field "key" must be a ${_KEY_BYTES}-byte Ed25519 public key, not ${raw.length} bytes`,
    );
  }
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      raw as BufferSource,
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    return { key, fingerprint: await keyFingerprint(raw) };
  } catch {
    return new ProtocolError("bad_key", 'Field "key" is not a usable Ed25519 public key');
  }
}

/**
 * A fresh challenge nonce: 32 random bytes, base64url.
 *
 * @returns the nonce as sent in `challenge`
 */
export function newNonce(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(_NONCE_BYTES)));
}

/**
 * The bytes a client signs to answer a challenge: `chat-auth-v1\n` + nonce + `\n` + name.
 *
 * @param nonce the nonce as sent (its base64url text)
 * @param name the name as sent in `hello`
 * @returns the UTF-8 bytes
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signedText } from "./identity.ts";
 * assert.ok(new TextDecoder().decode(signedText("abc", "alice")) === "chat-auth-v1\nabc\nalice");
 * ```
 */
export function signedText(nonce: string, name: string): Uint8Array {
  return new TextEncoder().encode(`${AUTH_CONTEXT}\n${nonce}\n${name}`);
}

/**
 * Checks an `auth` signature against the challenge it answers.
 *
 * @param offered the key from `hello`
 * @param nonce the nonce this connection was sent
 * @param name the name as sent in `hello`
 * @param signature `auth.signature` as sent
 * @returns true when it is a valid signature of exactly that challenge by that key
 */
export async function verifyAuth(
  offered: OfferedKey,
  nonce: string,
  name: string,
  signature: string,
): Promise<boolean> {
  const bytes = decodeBase64Url(signature);
  if (bytes === undefined || bytes.length !== _SIGNATURE_BYTES) return false;
  try {
    return await crypto.subtle.verify(
      { name: "Ed25519" },
      offered.key,
      bytes as BufferSource,
      signedText(nonce, name) as BufferSource,
    );
  } catch {
    return false;
  }
}

/** Options of a {@linkcode NameOwners}. */
export interface NameOwnersOptions {
  /** Days a name may stay unused before it is free again. */
  readonly nameDays: number;
  /** The clock in milliseconds; a test may fix it. */
  readonly now?: () => number;
}

/**
 * The names that belong to identities. The first identity to join with a name owns it; a name
 * whose owner has not used it for `nameDays` is free again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Database, MEMORY } from "../store/database.ts";
 * import { NameOwners } from "./identity.ts";
 * const db = Database.open(MEMORY);
 * const owners = new NameOwners(db, { nameDays: 90 });
 * owners.claim("Alice", "SHA256:a");
 * assert.ok(owners.refusal("alice", "SHA256:b")?.code === "name_owned");
 * assert.ok(owners.refusal("alice", "SHA256:a") === undefined);
 * db.close();
 * ```
 */
export class NameOwners {
  #db: Database;
  #lapseMs: number;
  #now: () => number;
  #select;
  #upsert;
  #touch;

  /**
   * @param db the server's database
   * @param options how long names last, and the clock
   */
  constructor(db: Database, options: NameOwnersOptions) {
    this.#db = db;
    this.#lapseMs = options.nameDays * _DAY_MS;
    this.#now = options.now ?? Date.now;
    this.#select = db.sql.prepare(
      "SELECT name, fingerprint, last_used_at FROM owned_names WHERE name_key = ?",
    );
    this.#upsert = db.sql.prepare(
      `INSERT INTO owned_names (name_key, name, fingerprint, claimed_at, last_used_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name_key) DO UPDATE SET
         name = excluded.name,
         fingerprint = excluded.fingerprint,
         claimed_at = CASE WHEN owned_names.fingerprint = excluded.fingerprint
           THEN owned_names.claimed_at ELSE excluded.claimed_at END,
         last_used_at = excluded.last_used_at`,
    );
    this.#touch = db.sql.prepare(
      "UPDATE owned_names SET last_used_at = ? WHERE name_key = ? AND fingerprint = ?",
    );
  }

  /**
   * The identity that owns a name now, if any.
   *
   * @param name a valid name, any case
   * @returns the owner's fingerprint, or undefined when the name is free (or has lapsed)
   */
  ownerOf(name: string): string | undefined {
    const row = this.#select.get(nameKey(name)) as
      | { fingerprint: string; last_used_at: number }
      | undefined;
    if (row === undefined) return undefined;
    if (this.#now() - row.last_used_at > this.#lapseMs) return undefined;
    return row.fingerprint;
  }

  /**
   * Why someone may not take a name: `name_owned` when another identity owns it.
   *
   * @param name a valid name
   * @param fingerprint the asker's identity, or undefined for a client without one
   * @returns the refusal, or undefined when the name may be used
   */
  refusal(name: string, fingerprint: string | undefined): ProtocolError | undefined {
    const owner = this.ownerOf(name);
    if (owner === undefined || owner === fingerprint) return undefined;
    return new ProtocolError(
      "name_owned",
      fingerprint === undefined
        ? `The name "${name}" belongs to someone (${owner}): choose another`
        : `The name "${name}" belongs to another identity (${owner}): choose another`,
    );
  }

  /**
   * Records that an identity uses a name: claims it when free, renews it when its own.
   *
   * @param name the name as used
   * @param fingerprint the identity
   */
  claim(name: string, fingerprint: string): void {
    const now = this.#now();
    this.#upsert.run(nameKey(name), name, fingerprint, now, now);
  }

  /**
   * Records that an identity stopped using a name just now (left, or renamed away): the name's
   * days count from here.
   *
   * @param name the name
   * @param fingerprint the identity
   */
  release(name: string, fingerprint: string): void {
    this.#touch.run(this.#now(), nameKey(name), fingerprint);
  }

  /** The database, for tests. */
  get database(): Database {
    return this.#db;
  }
}
