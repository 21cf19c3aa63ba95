/**
 * Identity without accounts: the challenge a `hello` with a `key` is answered with, the check
 * of its `auth` signature, and the names that belong to identities (in the database, or in
 * the cluster's Redis behind the same interface).
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

/** What {@linkcode NameOwnership.claim} gave. */
export type NameClaim =
  | {
    readonly granted: true;
    /**
     * True when the name was not this identity's before (free, or lapsed): a claim that turns
     * out unneeded (the name was taken by a member without an identity) is then undone with
     * {@linkcode NameOwnership.unclaim}.
     */
    readonly fresh: boolean;
  }
  | { readonly granted: false; readonly refusal: ProtocolError };

/**
 * The names that belong to identities, wherever they are kept: in the server's database
 * ({@linkcode NameOwners}), or in the cluster's Redis (`server/redis_trust.ts`) so that every
 * node of a cluster agrees on them. The first identity to join with a name owns it; a name whose
 * owner has not used it for `--name-days` is free again. Every answer may need a round trip,
 * so every method returns a promise.
 */
export interface NameOwnership {
  /**
   * The identity that owns a name now, if any.
   *
   * @param name a valid name, any case
   * @returns the owner's fingerprint, or undefined when the name is free (or has lapsed)
   */
  ownerOf(name: string): Promise<string | undefined>;
  /**
   * Why someone may not take a name: `name_owned` when another identity owns it.
   *
   * @param name a valid name
   * @param fingerprint the asker's identity, or undefined for a client without one
   * @returns the refusal, or undefined when the name may be used
   */
  refusal(name: string, fingerprint: string | undefined): Promise<ProtocolError | undefined>;
  /**
   * Claims a name for an identity in one atomic step: granted when it is free, lapsed or
   * already this identity's (its days start again), refused with `name_owned` otherwise. Two
   * identities claiming one free name at once (on two nodes of a cluster) never both get it.
   *
   * @param name the name as used
   * @param fingerprint the identity
   */
  claim(name: string, fingerprint: string): Promise<NameClaim>;
  /**
   * Undoes a fresh claim that was not needed after all (the join or rename that made it was
   * refused); does nothing when the name belongs to someone else by now.
   *
   * @param name the name
   * @param fingerprint the identity that claimed it
   */
  unclaim(name: string, fingerprint: string): Promise<void>;
  /**
   * Records that an identity stopped using a name just now (left, or renamed away): the name's
   * days count from here.
   *
   * @param name the name
   * @param fingerprint the identity
   */
  release(name: string, fingerprint: string): Promise<void>;
}

/**
 * The refusal of a name an identity owns, for someone else.
 *
 * @param name the name asked for
 * @param owner the owner's fingerprint, or undefined when the name is free
 * @param fingerprint the asker's identity, or undefined for a client without one
 * @returns `name_owned`, or undefined when the name may be used
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ownedRefusal } from "./identity.ts";
 * assert.ok(ownedRefusal("alice", "SHA256:a", undefined)?.code === "name_owned");
 * assert.ok(ownedRefusal("alice", "SHA256:a", "SHA256:a") === undefined);
 * ```
 */
export function ownedRefusal(
  name: string,
  owner: string | undefined,
  fingerprint: string | undefined,
): ProtocolError | undefined {
  if (owner === undefined || owner === fingerprint) return undefined;
  return new ProtocolError(
    "name_owned",
    fingerprint === undefined
      ? `The name "${name}" belongs to someone (${owner}): choose another`
      : `The name "${name}" belongs to another identity (${owner}): choose another`,
  );
}

/** Options of a {@linkcode NameOwners}. */
export interface NameOwnersOptions {
  /** Days a name may stay unused before it is free again. */
  readonly nameDays: number;
  /** The clock in milliseconds; a test may fix it. */
  readonly now?: () => number;
}

/**
 * The names that belong to identities, kept in the server's database (a server on its own).
 * One process uses the database, and each method runs its statements without yielding, so a
 * claim is atomic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Database, MEMORY } from "../store/database.ts";
 * import { NameOwners } from "./identity.ts";
 * const db = Database.open(MEMORY);
 * const owners = new NameOwners(db, { nameDays: 90 });
 * assert.ok((await owners.claim("Alice", "SHA256:a")).granted);
 * assert.ok((await owners.refusal("alice", "SHA256:b"))?.code === "name_owned");
 * assert.ok((await owners.refusal("alice", "SHA256:a")) === undefined);
 * assert.ok(!(await owners.claim("ALICE", "SHA256:b")).granted);
 * db.close();
 * ```
 */
export class NameOwners implements NameOwnership {
  #db: Database;
  #lapseMs: number;
  #now: () => number;
  #select;
  #upsert;
  #touch;
  #delete;

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
    this.#delete = db.sql.prepare(
      "DELETE FROM owned_names WHERE name_key = ? AND fingerprint = ?",
    );
  }

  #owner(name: string): string | undefined {
    const row = this.#select.get(nameKey(name)) as
      | { fingerprint: string; last_used_at: number }
      | undefined;
    if (row === undefined) return undefined;
    if (this.#now() - row.last_used_at > this.#lapseMs) return undefined;
    return row.fingerprint;
  }

  ownerOf(name: string): Promise<string | undefined> {
    return Promise.resolve(this.#owner(name));
  }

  refusal(name: string, fingerprint: string | undefined): Promise<ProtocolError | undefined> {
    return Promise.resolve(ownedRefusal(name, this.#owner(name), fingerprint));
  }

  claim(name: string, fingerprint: string): Promise<NameClaim> {
    const owner = this.#owner(name);
    const refusal = ownedRefusal(name, owner, fingerprint);
    if (refusal !== undefined) return Promise.resolve({ granted: false, refusal });
    const now = this.#now();
    this.#upsert.run(nameKey(name), name, fingerprint, now, now);
    return Promise.resolve({ granted: true, fresh: owner === undefined });
  }

  unclaim(name: string, fingerprint: string): Promise<void> {
    this.#delete.run(nameKey(name), fingerprint);
    return Promise.resolve();
  }

  release(name: string, fingerprint: string): Promise<void> {
    this.#touch.run(this.#now(), nameKey(name), fingerprint);
    return Promise.resolve();
  }

  /** The database, for tests. */
  get database(): Database {
    return this.#db;
  }
}
