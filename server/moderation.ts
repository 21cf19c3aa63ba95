/**
 * What operators decide, kept so that it outlives the server: who is an operator (besides those
 * named with `--op`), who is banned (an identity by its fingerprint, or an address) and who is
 * muted, each until a time or until lifted. Where it is kept is a {@linkcode ModerationStore}:
 * the server's database ({@linkcode DatabaseModerationStore}), or with `--redis` the cluster's
 * Redis (`server/redis_trust.ts`), which also tells every other node at once.
 *
 * Everything is also held in memory, so the checks on the hot paths (an address at accept, a
 * muted member's message) are one map lookup: a banned address retrying in a tight loop costs
 * the server no query. Expired entries are dropped when next looked at.
 *
 * @module
 */

import type { ModNoticeEvent } from "../protocol/events.ts";
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

/** One change of what is kept. */
export type ModerationChange =
  | { readonly kind: "op"; readonly fingerprint: string; readonly by: string }
  | { readonly kind: "deop"; readonly fingerprint: string }
  | { readonly kind: "ban"; readonly ban: Ban }
  /** A ban lifted; with `until`, only the ban ending then (it ended: forget it). */
  | { readonly kind: "unban"; readonly target: string; readonly until?: number }
  | { readonly kind: "mute"; readonly mute: Mute }
  | { readonly kind: "unmute"; readonly target: string; readonly until?: number };

/**
 * What an operator did, as it is recorded and, in a cluster, told to every node: the change to
 * keep (none for a kick), the `mod` event the members it concerns are told, and the member the
 * command named when it is connected to another node.
 */
export interface ModerationAct {
  readonly change?: ModerationChange;
  readonly notice?: ModNoticeEvent;
  /** The member named, as `NODE/ID` (see `MemberRef`), when its node must act on it. */
  readonly member?: string;
}

/** Everything kept, as read at start. */
export interface ModerationRecords {
  readonly ops: readonly string[];
  readonly bans: readonly Ban[];
  readonly mutes: readonly Mute[];
}

/**
 * Where operators' decisions are kept. Reads happen once, at start ({@linkcode load}); after
 * that {@linkcode Moderation} answers from memory, and a shared store tells it of the acts of
 * other nodes ({@linkcode listen}).
 */
export interface ModerationStore {
  /** What is kept now. */
  load(): ModerationRecords;
  /**
   * Keeps an act's change (and, for a shared store, tells the other nodes of the act).
   *
   * @param act what an operator did
   */
  record(act: ModerationAct): Promise<void>;
  /**
   * Calls `listener` with every act of another node, and `reloaded` with everything kept when
   * the store read it all again (after it could not hear the other nodes for a while, so acts
   * may have been missed); a store of one server calls neither.
   */
  listen(
    listener: (act: ModerationAct) => void,
    reloaded: (records: ModerationRecords) => void,
  ): void;
}

/**
 * The operators' decisions in the server's database (a server on its own).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Database, MEMORY } from "../store/database.ts";
 * import { DatabaseModerationStore } from "./moderation.ts";
 * const db = Database.open(MEMORY);
 * const store = new DatabaseModerationStore(db);
 * await store.record({ change: { kind: "op", fingerprint: "SHA256:x", by: "alice" } });
 * assert.deepEqual(store.load().ops, ["SHA256:x"]);
 * db.close();
 * ```
 */
export class DatabaseModerationStore implements ModerationStore {
  #db: Database;
  #now: () => number;

  /**
   * @param db the server's database
   * @param now the clock in milliseconds (when each decision was made is kept)
   */
  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  load(): ModerationRecords {
    const sql = this.#db.sql;
    const ops = sql.prepare("SELECT fingerprint FROM operators").all().map((row) =>
      (row as { fingerprint: string }).fingerprint
    );
    const bans = (sql.prepare("SELECT * FROM bans").all() as unknown as _BanRow[]).map((row) => ({
      target: row.target,
      kind: row.kind,
      name: row.name ?? undefined,
      by: row.by_name,
      reason: row.reason ?? undefined,
      until: row.until ?? undefined,
    }));
    const mutes = (sql.prepare("SELECT * FROM mutes").all() as unknown as _MuteRow[]).map((
      row,
    ) => ({ target: row.target, by: row.by_name, until: row.until ?? undefined }));
    return { ops, bans, mutes };
  }

  record(act: ModerationAct): Promise<void> {
    const change = act.change;
    if (change === undefined) return Promise.resolve();
    const sql = this.#db.sql;
    switch (change.kind) {
      case "op":
        sql.prepare(
          "INSERT OR REPLACE INTO operators (fingerprint, added_by, added_at) VALUES (?, ?, ?)",
        ).run(change.fingerprint, change.by, this.#now());
        break;
      case "deop":
        sql.prepare("DELETE FROM operators WHERE fingerprint = ?").run(change.fingerprint);
        break;
      case "ban": {
        const ban = change.ban;
        sql.prepare(
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
        break;
      }
      case "unban":
        if (change.until === undefined) {
          sql.prepare("DELETE FROM bans WHERE target = ?").run(change.target);
        } else {
          sql.prepare("DELETE FROM bans WHERE target = ? AND until = ?").run(
            change.target,
            change.until,
          );
        }
        break;
      case "mute":
        sql.prepare(
          "INSERT OR REPLACE INTO mutes (target, by_name, created_at, until) VALUES (?, ?, ?, ?)",
        ).run(change.mute.target, change.mute.by, this.#now(), change.mute.until ?? null);
        break;
      case "unmute":
        if (change.until === undefined) {
          sql.prepare("DELETE FROM mutes WHERE target = ?").run(change.target);
        } else {
          sql.prepare("DELETE FROM mutes WHERE target = ? AND until = ?").run(
            change.target,
            change.until,
          );
        }
        break;
    }
    return Promise.resolve();
  }

  listen(): void {
    // One server: no other node acts, and the database is never out of date.
  }
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
 * Operators, bans and mutes: in memory, kept by a {@linkcode ModerationStore}. A change takes
 * effect in memory at once; the promise a change returns settles when the store has kept it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Database, MEMORY } from "../store/database.ts";
 * import { DatabaseModerationStore, Moderation } from "./moderation.ts";
 * const db = Database.open(MEMORY);
 * const moderation = new Moderation(new DatabaseModerationStore(db));
 * await moderation.ban({ target: "10.0.0.9", kind: "address", by: "alice" });
 * assert.ok(moderation.banOf("10.0.0.9")?.by === "alice");
 * db.close();
 * ```
 */
export class Moderation {
  #store: ModerationStore;
  #now: () => number;
  #configOps: ReadonlySet<string>;
  #ops = new Set<string>();
  #bans = new Map<string, Ban>();
  #mutes = new Map<string, Mute>();
  #listeners = new Set<(act: ModerationAct) => void>();

  /**
   * Loads what the store keeps, and follows the acts of other nodes when it is shared.
   *
   * @param store where decisions are kept
   * @param options the `--op` fingerprints, and the clock
   */
  constructor(store: ModerationStore, options: ModerationOptions = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
    this.#configOps = new Set(options.configOps ?? []);
    const records = store.load();
    for (const fingerprint of records.ops) this.#ops.add(fingerprint);
    for (const ban of records.bans) this.#bans.set(ban.target, ban);
    for (const mute of records.mutes) this.#mutes.set(mute.target, mute);
    store.listen((act) => {
      if (act.change !== undefined) this.#apply(act.change);
      this.#tell(act);
    }, (records) => this.#reload(records));
  }

  #tell(act: ModerationAct): void {
    for (const listener of this.#listeners) listener(act);
  }

  /**
   * Takes everything kept, read again, in place of the memory, and tells the listeners what
   * changed as acts (a ban made elsewhere meanwhile disconnects whom it covers here).
   */
  #reload(records: ModerationRecords): void {
    const changes: ModerationChange[] = [];
    const ops = new Set(records.ops);
    for (const fingerprint of this.#ops) {
      if (!ops.has(fingerprint)) changes.push({ kind: "deop", fingerprint });
    }
    for (const fingerprint of ops) {
      if (!this.#ops.has(fingerprint)) changes.push({ kind: "op", fingerprint, by: "" });
    }
    const bans = new Map(records.bans.map((ban) => [ban.target, ban]));
    for (const target of this.#bans.keys()) {
      if (!bans.has(target)) changes.push({ kind: "unban", target });
    }
    for (const ban of bans.values()) {
      if (JSON.stringify(this.#bans.get(ban.target)) !== JSON.stringify(ban)) {
        changes.push({ kind: "ban", ban });
      }
    }
    const mutes = new Map(records.mutes.map((mute) => [mute.target, mute]));
    for (const target of this.#mutes.keys()) {
      if (!mutes.has(target)) changes.push({ kind: "unmute", target });
    }
    for (const mute of mutes.values()) {
      if (JSON.stringify(this.#mutes.get(mute.target)) !== JSON.stringify(mute)) {
        changes.push({ kind: "mute", mute });
      }
    }
    for (const change of changes) {
      this.#apply(change);
      this.#tell({ change });
    }
  }

  /**
   * Calls `listener` with every act of another node of the cluster, once this memory knows it
   * (the server applies it to its own members: a ban disconnects them, a mute silences them).
   *
   * @param listener what to call
   */
  onRemoteAct(listener: (act: ModerationAct) => void): void {
    this.#listeners.add(listener);
  }

  /** Changes the memory. */
  #apply(change: ModerationChange): void {
    switch (change.kind) {
      case "op":
        this.#ops.add(change.fingerprint);
        return;
      case "deop":
        this.#ops.delete(change.fingerprint);
        return;
      case "ban":
        this.#bans.set(change.ban.target, change.ban);
        return;
      case "unban":
        if (change.until === undefined || this.#bans.get(change.target)?.until === change.until) {
          this.#bans.delete(change.target);
        }
        return;
      case "mute":
        this.#mutes.set(change.mute.target, change.mute);
        return;
      case "unmute":
        if (
          change.until === undefined || this.#mutes.get(change.target)?.until === change.until
        ) {
          this.#mutes.delete(change.target);
        }
        return;
    }
  }

  /**
   * Makes a change now and has the store keep it (telling the other nodes of a cluster).
   *
   * @param act the change, the notice for the members it concerns, the member named
   * @returns when the store has kept it
   */
  record(act: ModerationAct): Promise<void> {
    if (act.change !== undefined) this.#apply(act.change);
    return this.#store.record(act);
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
   * @returns when it is kept
   */
  addOp(fingerprint: string, by: string): Promise<void> {
    return this.record({ change: { kind: "op", fingerprint, by } });
  }

  /**
   * Takes an identity's operator status made with `/op` away.
   *
   * @param fingerprint the identity
   * @returns false when it was not such an operator (nothing changes then)
   */
  async removeOp(fingerprint: string): Promise<boolean> {
    if (!this.#ops.has(fingerprint)) return false;
    await this.record({ change: { kind: "deop", fingerprint } });
    return true;
  }

  /**
   * Records a ban (replacing an earlier one of the same target).
   *
   * @param ban the ban
   * @returns when it is kept
   */
  ban(ban: Ban): Promise<void> {
    return this.record({ change: { kind: "ban", ban } });
  }

  /**
   * Lifts a ban.
   *
   * @param target the fingerprint or address
   * @returns the ban lifted, or undefined when there was none in force
   */
  async unban(target: string): Promise<Ban | undefined> {
    const ban = this.banOf(target);
    await this.record({ change: { kind: "unban", target } });
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
      void this.record({ change: { kind: "unban", target, until: ban.until } }).catch(() => {
        // Forgetting an ended ban can wait for the next start: it is not in force either way.
      });
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
   * @returns when it is kept
   */
  mute(mute: Mute): Promise<void> {
    return this.record({ change: { kind: "mute", mute } });
  }

  /**
   * Lifts a mute.
   *
   * @param target the fingerprint or address
   * @returns false when there was none in force
   */
  async unmute(target: string): Promise<boolean> {
    const had = this.muteOf(target) !== undefined;
    await this.record({ change: { kind: "unmute", target } });
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
      void this.record({ change: { kind: "unmute", target, until: mute.until } }).catch(() => {
        // As for an ended ban: not in force either way.
      });
      return undefined;
    }
    return mute;
  }
}
