/**
 * The reconnect schedule: 0.5 s, doubling up to 10 s (2 s while the user has a line waiting to
 * be sent), each wait shortened by a random part of up to a quarter so that many clients cut off
 * at once do not all come back at once. A server restart takes seconds, so the waits stay short
 * enough that people are back soon after it.
 *
 * @module
 */

/** The first wait before reconnecting, in milliseconds. */
export const BACKOFF_FIRST_MS = 500;
/** The longest wait before reconnecting, in milliseconds. */
export const BACKOFF_MAX_MS = 10_000;
/** The longest wait while the user has typed something that waits to be sent. */
export const BACKOFF_DRAFT_MAX_MS = 2000;
/** The share of each wait that is random. */
export const BACKOFF_JITTER = 0.25;

/**
 * How long to wait before reconnect attempt number `attempt`.
 *
 * @param attempt 0 for the first attempt after the connection was lost, then 1, 2, ...
 * @param random a number in [0, 1), `Math.random()` by default
 * @param maxMs the longest wait ({@linkcode BACKOFF_MAX_MS} by default;
 *   {@linkcode BACKOFF_DRAFT_MAX_MS} while a line waits to be sent)
 * @returns the wait in milliseconds: the base (0.5 s doubled per attempt, at most `maxMs`)
 *   minus up to a quarter of it
 * @example The schedule without jitter
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay } from "./backoff.ts";
 * const waits = [0, 1, 2, 5, 9].map((attempt) => backoffDelay(attempt, 0));
 * assert.ok(waits.join() === "500,1000,2000,10000,10000");
 * ```
 */
export function backoffDelay(
  attempt: number,
  random: number = Math.random(),
  maxMs: number = BACKOFF_MAX_MS,
): number {
  const base = Math.min(maxMs, BACKOFF_FIRST_MS * 2 ** Math.min(Math.max(0, attempt), 16));
  return Math.round(base * (1 - BACKOFF_JITTER * random));
}
