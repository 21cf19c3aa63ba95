/**
 * The reconnect schedule: 1 s, doubling up to 30 s, each wait shortened by a random part of up
 * to a quarter so that many clients cut off at once do not all come back at once.
 *
 * @module
 */

/** The first wait before reconnecting, in milliseconds. */
export const BACKOFF_FIRST_MS = 1000;
/** The longest wait before reconnecting, in milliseconds. */
export const BACKOFF_MAX_MS = 30_000;
/** The share of each wait that is random. */
export const BACKOFF_JITTER = 0.25;

/**
 * How long to wait before reconnect attempt number `attempt`.
 *
 * @param attempt 0 for the first attempt after the connection was lost, then 1, 2, ...
 * @param random a number in [0, 1), `Math.random()` by default
 * @returns the wait in milliseconds: the base (1 s doubled per attempt, at most 30 s) minus up
 *   to a quarter of it
 * @example The schedule without jitter
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay } from "./backoff.ts";
 * const waits = [0, 1, 2, 5, 9].map((attempt) => backoffDelay(attempt, 0));
 * assert.ok(waits.join() === "1000,2000,4000,30000,30000");
 * ```
 */
export function backoffDelay(attempt: number, random: number = Math.random()): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(Math.max(0, attempt), 16));
  return Math.round(base * (1 - BACKOFF_JITTER * random));
}
