/**
 * Durations of bans and mutes as people type them: a whole number and a unit, `90s`, `10m`,
 * `2h`, `7d`, `2w`. Parsed in one place so that `/ban`, `/mute` and the JSON `mod` event refuse
 * the same mistakes with the same sentences.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import { quote } from "./sanitize.ts";

/** The longest duration accepted: a year. Longer than that is what "until lifted" is for. */
export const MAX_DURATION_MS = 365 * 24 * 60 * 60 * 1000;

const _UNITS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
};

const _SHAPE = /^(\d{1,12})([smhdw])$/;

/**
 * Tells whether a word is meant as a duration (it starts with a digit or a sign), so that
 * `/ban bob 10x spam` is refused as a bad duration rather than read as a reason.
 *
 * @param word one word of a command
 * @returns true when it looks like a duration attempt
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { looksLikeDuration } from "./duration.ts";
 * assert.ok(looksLikeDuration("10m") && looksLikeDuration("-5m") && !looksLikeDuration("spam"));
 * ```
 */
export function looksLikeDuration(word: string): boolean {
  return /^[-+]?\.?\d/.test(word);
}

/**
 * Reads a duration.
 *
 * @param text what was typed, such as `10m`
 * @returns the milliseconds, or a `bad_duration` error that says what would be accepted
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./duration.ts";
 * assert.ok(parseDuration("2h") === 7_200_000);
 * assert.ok(typeof parseDuration("99999999d") !== "number");
 * ```
 */
export function parseDuration(text: string): number | ProtocolError {
  const how = "write a whole number and s, m, h, d or w, such as 10m, 2h or 7d";
  const typed = text.trim();
  if (typed.startsWith("-")) {
    return new ProtocolError("bad_duration", `A duration cannot be negative: ${quote(typed)}`);
  }
  const match = _SHAPE.exec(typed);
  if (match === null) {
    return new ProtocolError("bad_duration", `Not a duration: ${quote(typed)}; ${how}`);
  }
  const amount = Number(match[1]);
  const ms = amount * _UNITS[match[2]!]!;
  if (amount === 0) {
    return new ProtocolError(
      "bad_duration",
      `A duration must be more than zero: ${quote(typed)}; leave it out for "until lifted"`,
    );
  }
  if (ms > MAX_DURATION_MS) {
    return new ProtocolError(
      "bad_duration",
      `A duration is at most a year (365d): ${quote(typed)}; leave it out for "until lifted"`,
    );
  }
  return ms;
}
