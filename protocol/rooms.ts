/**
 * Room names: `#` then 1 to 32 of `a-z 0-9 _ - .`, compared without regard to case.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import { quote } from "./sanitize.ts";

/** The most characters after the `#` a room name may have. */
export const MAX_ROOM_NAME_CHARS = 32;

/** The outcome of {@linkcode normaliseRoomName}: the room's name, or why it was refused. */
export type RoomNameResult =
  | { readonly ok: true; readonly room: string }
  | { readonly ok: false; readonly error: ProtocolError };

const _ROOM = /^#[a-z0-9_.-]{1,32}$/;

/**
 * Checks a room name and gives it its one spelling: lower case, with the `#` (a name typed
 * without it, `/join rust`, gets one).
 *
 * @param raw the name as the client sent it
 * @returns the normalised name, or a `bad_room` error saying what a room name is
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normaliseRoomName } from "./rooms.ts";
 * const result = normaliseRoomName("#Rust");
 * assert.ok(result.ok && result.room === "#rust");
 * assert.ok(!normaliseRoomName("#no spaces").ok);
 * ```
 */
export function normaliseRoomName(raw: string): RoomNameResult {
  const trimmed = raw.trim();
  const withHash = trimmed.startsWith("#") ? trimmed : "#" + trimmed;
  const room = withHash.toLowerCase();
  if (_ROOM.test(room)) return { ok: true, room };
  return {
    ok: false,
    error: new ProtocolError(
      "bad_room",
      `Room names are "#" then 1 to ${MAX_ROOM_NAME_CHARS} of a-z, 0-9, "_", "-" and ".": ` +
        quote(trimmed),
    ),
  };
}
