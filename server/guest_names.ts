/**
 * Guest names (`guest-1`, `guest-2`, ...) for the plain and raw clients that never send a name:
 * their first body is a message, and they join under the next free guest name.
 *
 * @module
 */

/** The prefix of every guest name. */
export const GUEST_PREFIX = "guest-";

/** How many taken names are skipped at most before giving up (someone took a run of them). */
const MAX_SKIPS = 10_000;

/**
 * Hands out guest names from one counter per server, skipping names someone already has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestNames } from "./guest_names.ts";
 * const guests = new GuestNames();
 * assert.equal(guests.next((name) => name === "guest-1"), "guest-2");
 * assert.equal(guests.next(() => false), "guest-3");
 * ```
 */
export class GuestNames {
  #counter = 0;

  /**
   * The next guest name nobody has.
   *
   * @param isTaken tells whether a name is in use
   * @returns a free guest name
   * @throws {RangeError} when thousands of guest names in a row are taken
   */
  next(isTaken: (name: string) => boolean): string {
    for (let skips = 0; skips < MAX_SKIPS; skips++) {
      const name = `${GUEST_PREFIX}${++this.#counter}`;
      if (!isTaken(name)) return name;
    }
    throw new RangeError(`No free guest name: the last one tried was "guest-${this.#counter}"`);
  }
}
