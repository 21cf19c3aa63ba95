/**
 * Client-side pacing for piped input: a token bucket a little slower than the server's flood
 * control, so a script that pipes many lines in gets them all delivered instead of
 * `rate_limited` errors.
 *
 * @module
 */

/** Options of a {@linkcode Pacer}. */
export interface PacerOptions {
  /** Events that may go at once. */
  readonly burst: number;
  /** Events per second after the burst; 0 or less for no pacing. */
  readonly perSecond: number;
  /** The clock in milliseconds (default `Date.now`). */
  readonly now?: () => number;
  /** Waits (default a timer). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A token bucket: {@linkcode Pacer.take} resolves at once while the burst lasts, then at the
 * steady rate.
 *
 * @example Three events at once with a burst of two
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pacer } from "./pacer.ts";
 * let clock = 0;
 * const waits: number[] = [];
 * const pacer = new Pacer({
 *   burst: 2,
 *   perSecond: 4,
 *   now: () => clock,
 *   sleep: (ms) => { waits.push(ms); clock += ms; return Promise.resolve(); },
 * });
 * for (let i = 0; i < 3; i++) await pacer.take();
 * assert.ok(waits.length === 1 && waits[0] === 250);
 * ```
 */
export class Pacer {
  #capacity: number;
  #perMs: number;
  #tokens: number;
  #last: number;
  #now: () => number;
  #sleep: (ms: number) => Promise<void>;

  /**
   * Makes a bucket that starts full.
   *
   * @param options the burst, the rate, and (for tests) the clock
   */
  constructor(options: PacerOptions) {
    this.#capacity = Math.max(1, options.burst);
    this.#perMs = options.perSecond / 1000;
    this.#tokens = this.#capacity;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ??
      ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.#last = this.#now();
  }

  /** Waits until one more event may go, and counts it. */
  async take(): Promise<void> {
    if (this.#perMs <= 0) return;
    for (;;) {
      const now = this.#now();
      this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#last) * this.#perMs);
      this.#last = now;
      if (this.#tokens >= 1 - 1e-9) {
        this.#tokens = Math.max(0, this.#tokens - 1);
        return;
      }
      await this.#sleep(Math.ceil((1 - this.#tokens) / this.#perMs));
    }
  }
}
