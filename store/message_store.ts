/**
 * Rooms, their messages and what each identity was last sent, in the server's SQLite database
 * (the tables of migration 2). The in-process broker writes through it in batches
 * ({@linkcode RoomStore}); retention removes old messages in the background, a few hundred rows
 * per transaction, so the room never waits long behind it.
 *
 * @module
 */

import type { StatementSync } from "node:sqlite";
import type { MessageEvent } from "../protocol/events.ts";
import type { RoomRecord, RoomStore, StoredRoom } from "../core/room_store.ts";
import type { Database } from "./database.ts";

/** How long messages and how many per room are kept. */
export interface Retention {
  /** Days a message is kept (0: no age limit). */
  readonly keepDays: number;
  /** Messages kept per room (0: no count limit). */
  readonly keepMessages: number;
}

/** Rows removed per retention transaction: small enough that a batch of chat never waits long. */
export const RETENTION_BATCH = 500;

const _ROWS_PER_INSERT = 16;

type _Row = { id: number; ts: string; sender: string; kind: string; text: string };

/**
 * The SQLite side of the persistent broker.
 *
 * @example Messages written in a batch are read back
 * ```ts
 * import assert from "node:assert/strict";
 * import { Database, MEMORY } from "./database.ts";
 * import { MessageStore } from "./message_store.ts";
 * const db = Database.open(MEMORY);
 * const store = new MessageStore(db);
 * store.write([{ name: "#main", epoch: "e1", lastId: 1, trimmed: 0 }], [
 *   { type: "message", id: 1, ts: "2026-01-01T00:00:00.000Z", from: "ann", text: "hi", kind: "say", room: "#main" },
 * ]);
 * assert.equal(store.room("#main")?.lastId, 1);
 * assert.equal(store.messages("#main", 0, 10)[0]?.text, "hi");
 * db.close();
 * ```
 */
export class MessageStore implements RoomStore {
  readonly #db: Database;
  readonly #room: StatementSync;
  readonly #upsertRoom: StatementSync;
  readonly #insert: StatementSync;
  /** Inserts {@linkcode _ROWS_PER_INSERT} messages in one statement: fewer calls into SQLite. */
  readonly #insertMany: StatementSync;
  readonly #recent: StatementSync;
  readonly #count: StatementSync;
  readonly #getSeen: StatementSync;
  readonly #setSeen: StatementSync;
  /** Room to the id of the last message retention removed. */
  readonly #trimmed = new Map<string, number>();

  /** @param db the open database (migrated to version 2 or later) */
  constructor(db: Database) {
    this.#db = db;
    const sql = db.sql;
    this.#room = sql.prepare("SELECT epoch, last_id, trimmed FROM rooms WHERE name = ?");
    this.#upsertRoom = sql.prepare(
      "INSERT INTO rooms (name, epoch, last_id) VALUES (?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET last_id = max(last_id, excluded.last_id)",
    );
    this.#insert = sql.prepare(
      "INSERT OR IGNORE INTO messages (room, id, ts, sender, kind, text) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#insertMany = sql.prepare(
      "INSERT OR IGNORE INTO messages (room, id, ts, sender, kind, text) VALUES " +
        Array.from({ length: _ROWS_PER_INSERT }, () => "(?, ?, ?, ?, ?, ?)").join(", "),
    );
    this.#recent = sql.prepare(
      "SELECT id, ts, sender, kind, text FROM messages WHERE room = ? AND id > ? " +
        "ORDER BY id DESC LIMIT ?",
    );
    // A range of the primary key (room, id): no row is read beyond the index.
    this.#count = sql.prepare(
      "SELECT count(*) AS n FROM messages WHERE room = ? AND id > ? AND id < ?",
    );
    this.#getSeen = sql.prepare(
      "SELECT last_id, epoch FROM last_seen WHERE fingerprint = ? AND room = ?",
    );
    this.#setSeen = sql.prepare(
      "INSERT INTO last_seen (fingerprint, room, last_id, epoch) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (fingerprint, room) DO UPDATE SET last_id = excluded.last_id, " +
        "epoch = excluded.epoch",
    );
    for (const row of sql.prepare("SELECT name, trimmed FROM rooms").all()) {
      const { name, trimmed } = row as { name: string; trimmed: number };
      if (trimmed > 0) this.#trimmed.set(name, trimmed);
    }
  }

  room(room: string): StoredRoom | undefined {
    const row = this.#room.get(room) as
      | { epoch: string; last_id: number; trimmed: number }
      | undefined;
    return row === undefined
      ? undefined
      : { epoch: row.epoch, lastId: row.last_id, trimmed: row.trimmed };
  }

  messages(room: string, after: number, limit: number): MessageEvent[] {
    const rows = this.#recent.all(room, after, limit) as _Row[];
    const messages: MessageEvent[] = [];
    for (let i = rows.length - 1; i >= 0; i--) {
      const row = rows[i]!;
      messages.push({
        type: "message",
        id: row.id,
        ts: row.ts,
        from: row.sender,
        text: row.text,
        kind: row.kind === "me" ? "me" : "say",
        room,
      });
    }
    return messages;
  }

  count(room: string, after: number, before: number): number {
    const row = this.#count.get(room, after, before) as { n: number } | undefined;
    return row?.n ?? 0;
  }

  write(rooms: readonly RoomRecord[], messages: readonly MessageEvent[]): void {
    this.#db.transaction(() => {
      for (const room of rooms) this.#upsertRoom.run(room.name, room.epoch, room.lastId);
      let i = 0;
      const values: (string | number)[] = [];
      for (; i + _ROWS_PER_INSERT <= messages.length; i += _ROWS_PER_INSERT) {
        values.length = 0;
        for (let j = i; j < i + _ROWS_PER_INSERT; j++) {
          const m = messages[j]!;
          values.push(m.room ?? "#main", m.id, m.ts, m.from, m.kind ?? "say", m.text);
        }
        this.#insertMany.run(...values);
      }
      for (; i < messages.length; i++) {
        const m = messages[i]!;
        this.#insert.run(m.room ?? "#main", m.id, m.ts, m.from, m.kind ?? "say", m.text);
      }
    });
  }

  trimmedThrough(room: string): number {
    return this.#trimmed.get(room) ?? 0;
  }

  /**
   * The last message id an identity was sent in a room, when its epoch is still the room's.
   *
   * @param fingerprint the identity's fingerprint
   * @param room the room
   * @returns the id and the epoch it belongs to, or undefined when never recorded
   */
  lastSeen(fingerprint: string, room: string): { after: number; epoch: string } | undefined {
    const row = this.#getSeen.get(fingerprint, room) as
      | { last_id: number; epoch: string }
      | undefined;
    return row === undefined ? undefined : { after: row.last_id, epoch: row.epoch };
  }

  /**
   * Records the last message id an identity was sent in a room.
   *
   * @param fingerprint the identity's fingerprint
   * @param room the room
   * @param lastId the id
   * @param epoch the room's epoch
   */
  setLastSeen(fingerprint: string, room: string, lastId: number, epoch: string): void {
    this.#setSeen.run(fingerprint, room, lastId, epoch);
  }

  /**
   * Removes at most {@linkcode RETENTION_BATCH} messages past retention, in one transaction.
   *
   * @param retention what to keep
   * @param now the current time
   * @returns how many were removed (less than a batch: nothing more to do for now)
   */
  trimStep(retention: Retention, now: Date): number {
    const sql = this.#db.sql;
    let removed = 0;
    this.#db.transaction(() => {
      const doomed: { room: string; id: number }[] = [];
      const rooms = sql.prepare("SELECT name FROM rooms").all() as { name: string }[];
      if (retention.keepDays > 0) {
        // A room's messages are in time order by id, so its oldest are read through the primary
        // key: no index on ts, which would cost every insert on the chat's path.
        const cutoff = new Date(now.getTime() - retention.keepDays * 86_400_000).toISOString();
        const oldest = sql.prepare(
          "SELECT room, id FROM (SELECT room, id, ts FROM messages WHERE room = ? ORDER BY id " +
            "LIMIT ?) WHERE ts < ?",
        );
        for (const room of rooms) {
          if (doomed.length >= RETENTION_BATCH) break;
          doomed.push(
            ...oldest.all(room.name, RETENTION_BATCH - doomed.length, cutoff) as {
              room: string;
              id: number;
            }[],
          );
        }
      }
      if (retention.keepMessages > 0 && doomed.length < RETENTION_BATCH) {
        const oldest = sql.prepare(
          "SELECT room, id FROM messages WHERE room = ? AND id <= (SELECT id FROM messages " +
            "WHERE room = ? ORDER BY id DESC LIMIT 1 OFFSET ?) ORDER BY id LIMIT ?",
        );
        for (const room of rooms) {
          if (doomed.length >= RETENTION_BATCH) break;
          doomed.push(
            ...oldest.all(
              room.name,
              room.name,
              retention.keepMessages,
              RETENTION_BATCH - doomed.length,
            ) as { room: string; id: number }[],
          );
        }
      }
      const remove = sql.prepare("DELETE FROM messages WHERE room = ? AND id = ?");
      const trim = sql.prepare("UPDATE rooms SET trimmed = max(trimmed, ?) WHERE name = ?");
      for (const { room, id } of doomed) {
        removed += Number(remove.run(room, id).changes);
        trim.run(id, room);
        if (id > (this.#trimmed.get(room) ?? 0)) this.#trimmed.set(room, id);
      }
    });
    return removed;
  }
}
