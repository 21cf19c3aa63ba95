/**
 * Counts the errors a client causes in a sliding window, so a client that keeps sending bad
 * events is disconnected instead of being answered forever.
 *
 * @module
 */

/**
 * A sliding-window error counter: at most `limit` errors within `windowMs`.
 *
 * @example The third error in a minute exceeds a budget of 2
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrorBudget } from "./error_budget.ts";
 * const budget = new ErrorBudget(2, 60_000);
 * assert.ok(budget.spend(0) && budget.spend(1) && !budget.spend(2));
 * ```
 */
export class ErrorBudget {
  #limit: number;
  #windowMs: number;
  #times: number[] = [];

  /**
   * @param limit errors allowed within the window
   * @param windowMs the window in milliseconds
   */
  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Changes the limit (tighter before a client has joined, looser after). */
  set limit(value: number) {
    this.#limit = value;
  }

  /**
   * Counts one error.
   *
   * @param now the time in milliseconds
   * @returns false once the errors within the window exceed the limit
   */
  spend(now: number): boolean {
    const times = this.#times;
    while (times.length > 0 && now - times[0]! >= this.#windowMs) times.shift();
    times.push(now);
    return times.length <= this.#limit;
  }
}
