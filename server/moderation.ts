/**
 * What operators decide, kept in the database so that it outlives the server: who is an
 * operator (besides those named with `--op`), who is banned (an identity by its fingerprint, or
 * an address) and who is muted, each until a time or until lifted.
 *
 * Everything is also held in memory, so the checks on the hot paths (an address at accept, a
 * muted member's message) are one map lookup: a banned address retrying in a tight loop costs
 * the server no query. Expired entries are dropped when next looked at.
 *
 * @module
 */

import type { Database } from "../store/database.ts";

/** A ban: an identity (fingerprint) or an address, until a time or until lifted. */
export interface Ban {
  /** The fingerprint (`SHA256:...`) or the normalised address. */
  readonly target: string;
  readonly kind: "identity" | "address";
  /** The name the member had, when banned by name. */
  readonly name?: string | undefined;
  /** The operator's name. */
  readonly by: string;
  readonly reason?: string | undefined;
  /** When it ends, in milliseconds since the epoch; undefined for "until lifted". */
  readonly until?: number | undefined;
}

/** A mute: an identity or an address, until a time or until lifted. */
export interface Mute {
  readonly target: string;
  readonly by: string;
  readonly until?: number | undefined;
}

/** Options of a {@linkcode Moderation}. */
export interface ModerationOptions {
  /** The fingerprints given with `--op`: operators that no command can remove. */
  readonly configOps?: readonly string[];
  /** The clock in milliseconds; a test may fix it. */
  readonly now?: () => number;
}

/**
 * Tells whether a target is a fingerprint rather than an address or a name.
 *
 * @param target what an operator typed
 * @returns true for `SHA256:...`
 */
export function isFingerprint(target: string): boolean {
  return /^SHA256:[A-Za-z0-9+/]{43}$/.test(target);
}

/**
 * Tells whether text is an IP address (IPv4 dotted quad, or IPv6), and normalises it.
 *
 * @param text what an operator typed
 * @returns the address in the form the server records peers in, or undefined
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readAddress } from "./moderation.ts";
 * assert.ok(readAddress("::ffff:10.0.0.1") === "10.0.0.1");
 * assert.ok(readAddress("10.0.0.1") === "10.0.0.1");
 * assert.ok(readAddress("bob") === undefined);
 * ```
 */
export function readAddress(text: string): string | undefined {
  let address = text.trim().toLowerCase();
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  if (address.startsWith("::ffff:") && address.includes(".")) address = address.slice(7);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4 !== null) return v4.slice(1).every((part) => Number(part) <= 255) ? address : undefined;
  if (/^[0-9a-f:]+$/.test(address) && address.includes(":") && address.length <= 39) {
    return address;
  }
  return undefined;
}

interface _BanRow {
  target: string;
  kind: "identity" | "address";
  name: string | null;
  by_name: string;
  reason: string | null;
  until: number | null;
}

interface _MuteRow {
  target: string;
  by_name: string;
  until: number | null;
}

/**
 * Operators, bans and mutes, in the database and in memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Database, MEMORY } from "../store/database.ts";
 * import { Moderation } from "./moderation.ts";
 * const db = Database.open(MEMORY);
 * const moderation = new Moderation(db);
 * moderation.ban({ target: "10.0.0.9", kind: "address", by: "alice" });
 * assert.ok(moderation.banOf("10.0.0.9")?.by === "alice");
 * db.close();
 * ```
 */
export class Moderation {
  #db: Database;
  #now: () => number;
  #configOps: ReadonlySet<string>;
  #ops = new Set<string>();
  #bans = new Map<string, Ban>();
  #mutes = new Map<string, Mute>();

  /**
   * Loads what the database holds.
   *
   * @param db the server's database
   * @param options the `--op` fingerprints, and the clock
   */
  constructor(db: Database, options: ModerationOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#configOps = new Set(options.configOps ?? []);
    for (const row of db.sql.prepare("SELECT fingerprint FROM operators").all()) {
      this.#ops.add((row as { fingerprint: string }).fingerprint);
    }
    for (const row of db.sql.prepare("SELECT * FROM bans").all() as unknown as _BanRow[]) {
      this.#bans.set(row.target, {
        target: row.target,
        kind: row.kind,
        name: row.name ?? undefined,
        by: row.by_name,
        reason: row.reason ?? undefined,
        until: row.until ?? undefined,
      });
    }
    for (const row of db.sql.prepare("SELECT * FROM mutes").all() as unknown as _MuteRow[]) {
      this.#mutes.set(row.target, {
        target: row.target,
        by: row.by_name,
        until: row.until ?? undefined,
      });
    }
  }

  /**
   * Tells whether an identity is an operator (named with `--op`, or made one with `/op`).
   *
   * @param fingerprint the identity, or undefined for a member without one (never an operator)
   */
  isOp(fingerprint: string | undefined): boolean {
    if (fingerprint === undefined) return false;
    return this.#configOps.has(fingerprint) || this.#ops.has(fingerprint);
  }

  /**
   * Tells whether an identity is an operator by `--op` (which `/deop` cannot undo).
   *
   * @param fingerprint the identity
   */
  isConfigOp(fingerprint: string): boolean {
    return this.#configOps.has(fingerprint);
  }

  /**
   * Makes an identity an operator, for good (until `/deop`).
   *
   * @param fingerprint the identity
   * @param by the name of the operator who did it
   */
  addOp(fingerprint: string, by: string): void {
    this.#db.sql.prepare(
      "INSERT OR REPLACE INTO operators (fingerprint, added_by, added_at) VALUES (?, ?, ?)",
    ).run(fingerprint, by, this.#now());
    this.#ops.add(fingerprint);
  }

  /**
   * Takes an identity's operator status made with `/op` away.
   *
   * @param fingerprint the identity
   * @returns false when it was not such an operator
   */
  removeOp(fingerprint: string): boolean {
    this.#db.sql.prepare("DELETE FROM operators WHERE fingerprint = ?").run(fingerprint);
    return this.#ops.delete(fingerprint);
  }

  /**
   * Records a ban (replacing an earlier one of the same target).
   *
   * @param ban the ban
   */
  ban(ban: Ban): void {
    this.#db.sql.prepare(
      `INSERT OR REPLACE INTO bans (target, kind, name, by_name, reason, created_at, until)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      ban.target,
      ban.kind,
      ban.name ?? null,
      ban.by,
      ban.reason ?? null,
      this.#now(),
      ban.until ?? null,
    );
    this.#bans.set(ban.target, ban);
  }

  /**
   * Lifts a ban.
   *
   * @param target the fingerprint or address
   * @returns the ban lifted, or undefined when there was none in force
   */
  unban(target: string): Ban | undefined {
    const ban = this.banOf(target);
    this.#db.sql.prepare("DELETE FROM bans WHERE target = ?").run(target);
    this.#bans.delete(target);
    return ban;
  }

  /**
   * The ban in force on a fingerprint or address, if any; one that has ended is forgotten.
   *
   * @param target the fingerprint or normalised address
   */
  banOf(target: string): Ban | undefined {
    const ban = this.#bans.get(target);
    if (ban === undefined) return undefined;
    if (ban.until !== undefined && ban.until <= this.#now()) {
      this.#bans.delete(target);
      this.#db.sql.prepare("DELETE FROM bans WHERE target = ? AND until = ?").run(
        target,
        ban.until,
      );
      return undefined;
    }
    return ban;
  }

  /** Every ban in force, the soonest to end first (those until lifted last). */
  bans(): Ban[] {
    return [...this.#bans.keys()]
      .map((target) => this.banOf(target))
      .filter((ban): ban is Ban => ban !== undefined)
      .sort((a, b) => (a.until ?? Infinity) - (b.until ?? Infinity));
  }

  /**
   * Mutes an identity or address.
   *
   * @param mute the mute
   */
  mute(mute: Mute): void {
    this.#db.sql.prepare(
      "INSERT OR REPLACE INTO mutes (target, by_name, created_at, until) VALUES (?, ?, ?, ?)",
    ).run(mute.target, mute.by, this.#now(), mute.until ?? null);
    this.#mutes.set(mute.target, mute);
  }

  /**
   * Lifts a mute.
   *
   * @param target the fingerprint or address
   * @returns false when there was none in force
   */
  unmute(target: string): boolean {
    const had = this.muteOf(target) !== undefined;
    this.#db.sql.prepare("DELETE FROM mutes WHERE target = ?").run(target);
    this.#mutes.delete(target);
    return had;
  }

  /**
   * The mute in force on a fingerprint or address, if any.
   *
   * @param target the fingerprint or normalised address
   */
  muteOf(target: string): Mute | undefined {
    const mute = this.#mutes.get(target);
    if (mute === undefined) return undefined;
    if (mute.until !== undefined && mute.until <= this.#now()) {
      this.#mutes.delete(target);
      this.#db.sql.prepare("DELETE FROM mutes WHERE target = ? AND until = ?").run(
        target,
        mute.until,
      );
      return undefined;
    }
    return mute;
  }
}
