/**
 * Where the in-process broker keeps rooms and their messages beyond the process's life. The core
 * sees only this interface; `store/message_store.ts` puts it in SQLite. Every call is
 * synchronous: SQLite on a local file answers in microseconds, and a batch written in one call
 * keeps the group commit simple.
 *
 * @module
 */

import type { MessageEvent } from "../protocol/events.ts";

/** What is stored of a room besides its messages. */
export interface StoredRoom {
  /** The epoch of its history. */
  readonly epoch: string;
  /** The last id given out in it (messages and private messages share the sequence). */
  readonly lastId: number;
  /** The id of the last message retention removed, 0 while none was. */
  readonly trimmed: number;
}

/** One room's state in a batch to write. */
export interface RoomRecord extends StoredRoom {
  /** The room's name. */
  readonly name: string;
}

/** Rooms and messages kept across restarts. */
export interface RoomStore {
  /**
   * A room as stored, or undefined when it never was.
   *
   * @param room the room's name
   */
  room(room: string): StoredRoom | undefined;
  /**
   * The last `limit` stored messages of a room with an id above `after`, oldest first.
   *
   * @param room the room's name
   * @param after the id the messages come after (0 for all)
   * @param limit the most to return
   */
  messages(room: string, after: number, limit: number): MessageEvent[];
  /**
   * How many stored messages of a room have an id in the open range (`after`, `before`).
   *
   * @param room the room's name
   * @param after the ids counted are greater than this one
   * @param before and smaller than this one
   */
  count(room: string, after: number, before: number): number;
  /**
   * Writes a batch in one transaction: the rooms' states and the new messages.
   *
   * @param rooms the rooms whose state changed
   * @param messages the new messages, in order
   * @throws {Error} when the write fails (the caller keeps the batch and tries again)
   */
  write(rooms: readonly RoomRecord[], messages: readonly MessageEvent[]): void;
  /**
   * The id of the last message of a room that retention removed (0 while none was).
   *
   * @param room the room's name
   */
  trimmedThrough(room: string): number;
}

/** What a persistent hub reports about its writes. */
export interface StoreReport {
  /** A batch could not be written; it is kept and tried again. */
  failed(error: unknown, waiting: number): void;
  /** Writing works again after failures. */
  recovered(written: number): void;
}
