/**
 * The JSON `welcome` frame without its cost growing with the room: the `users` list is kept as
 * JSON bytes that only grow while members join, and every newcomer is handed a view of them
 * instead of a fresh copy of the whole list.
 *
 * @module
 */

import type { WelcomeEvent } from "../protocol/events.ts";
import { HEADER_BYTES, writeHeader } from "../protocol/frame64.ts";
import { encodeUtf8 } from "../protocol/utf8.ts";

/**
 * The members' names as the inside of a JSON array (`"alice","bob"`), in join order. Joins
 * append; a leave or a rename makes it stale, and it is rebuilt when next asked for. The bytes
 * handed out are never changed afterwards (appends go past their end, a rebuild makes a new
 * buffer), so they may wait in send queues as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UserListJson } from "./welcome.ts";
 * const list = new UserListJson();
 * list.add("alice");
 * list.add("bob");
 * assert.ok(new TextDecoder().decode(list.bytes(["alice", "bob"])) === '"alice","bob"');
 * ```
 */
export class UserListJson {
  #buffer = new Uint8Array(0);
  #length = 0;
  #stale = false;

  /**
   * Adds a name at the end (a member joined).
   *
   * @param name the name
   */
  add(name: string): void {
    if (this.#stale) return;
    const piece = encodeUtf8((this.#length > 0 ? "," : "") + JSON.stringify(name));
    const needed = this.#length + piece.length;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(256, needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(piece, this.#length);
    this.#length = needed;
  }

  /** Marks the list stale (a member left or was renamed). */
  invalidate(): void {
    this.#stale = true;
  }

  /**
   * The list as JSON bytes, rebuilt from `names` when stale.
   *
   * @param names every member's name, in join order
   * @returns bytes that must not be changed
   */
  bytes(names: Iterable<string>): Uint8Array {
    if (this.#stale) {
      this.#stale = false;
      this.#buffer = new Uint8Array(0);
      this.#length = 0;
      for (const name of names) this.add(name);
    }
    return this.#buffer.subarray(0, this.#length);
  }
}

/**
 * Encodes a `welcome` event as a JSON frame in three parts: the header and the fields before
 * `users`, the users list (shared), and the fields after it. Together they are the bytes of
 * `encodeTextFrame(JSON.stringify(welcome))`, with the same key order.
 *
 * @param welcome the fields before the users list
 * @param users the users list from {@linkcode UserListJson.bytes}
 * @param tail the bytes after the list, from {@linkcode welcomeTail}
 * @returns the parts, in order
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeJsonWelcome, UserListJson, welcomeTail } from "./welcome.ts";
 * const list = new UserListJson();
 * list.add("ann");
 * const limits = { maxMessageBytes: 1, rateBurst: 1, ratePerSecond: 1, pingIntervalSeconds: 1, idleTimeoutSeconds: 1 };
 * const welcome = { type: "welcome", name: "ann", server: "s", protocol: 1, limits } as const;
 * const parts = encodeJsonWelcome(welcome, list.bytes(["ann"]), welcomeTail(welcome));
 * const text = new TextDecoder().decode(new Uint8Array(parts.flatMap((part) => [...part])));
 * assert.ok(JSON.parse(text.slice(64)).users[0] === "ann");
 * ```
 */
export function encodeJsonWelcome(
  welcome: Pick<
    WelcomeEvent,
    "type" | "name" | "server" | "protocol" | "fingerprint" | "op" | "unread"
  >,
  users: Uint8Array,
  tail: Uint8Array,
): Uint8Array[] {
  const head = encodeUtf8(
    JSON.stringify({
      type: welcome.type,
      name: welcome.name,
      server: welcome.server,
      protocol: welcome.protocol,
      ...(welcome.fingerprint === undefined ? {} : { fingerprint: welcome.fingerprint }),
      ...(welcome.op === true ? { op: true } : {}),
      // Per member, so before the shared users list.
      ...(welcome.unread === undefined ? {} : { unread: welcome.unread }),
    }).slice(0, -1) + ',"users":[',
  );
  const first = new Uint8Array(HEADER_BYTES + head.length);
  writeHeader(head.length + users.length + tail.length, first, 0);
  first.set(head, HEADER_BYTES);
  return users.length > 0 ? [first, users, tail] : [first, tail];
}

/**
 * The bytes after the users list of a `welcome` frame: they depend only on the server's limits
 * and message of the day (and the room, features, epoch and cluster status, when given), so they are made once per
 * room.
 *
 * @param welcome the event (its `limits`, `motd`, `room`, `features`, `epoch` and `cluster` are used)
 * @returns the bytes
 */
export function welcomeTail(
  welcome: Pick<
    WelcomeEvent,
    "limits" | "motd" | "room" | "features" | "tls" | "epoch" | "cluster"
  >,
): Uint8Array {
  const rest = JSON.stringify({
    limits: welcome.limits,
    ...(welcome.motd === undefined ? {} : { motd: welcome.motd }),
    ...(welcome.room === undefined ? {} : { room: welcome.room }),
    ...(welcome.features === undefined ? {} : { features: welcome.features }),
    ...(welcome.tls === undefined ? {} : { tls: welcome.tls }),
    ...(welcome.epoch === undefined ? {} : { epoch: welcome.epoch }),
    ...(welcome.cluster === undefined ? {} : { cluster: welcome.cluster }),
  });
  return encodeUtf8("]," + rest.slice(1));
}
