/**
 * Client-side pacing: a token bucket a little slower than the server's flood control, so a
 * script that pipes many lines in, or a person who types fast, gets them all delivered instead
 * of `rate_limited` errors.
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
    while (!this.tryTake()) await this.#sleep(this.delayMs());
  }

  /**
   * Counts one more event if it may go now.
   *
   * @returns true if it may go (and was counted), false if it must wait
   *   {@linkcode Pacer.delayMs}
   */
  tryTake(): boolean {
    if (this.#perMs <= 0) return true;
    this.#refill();
    if (this.#tokens < 1 - 1e-9) return false;
    this.#tokens = Math.max(0, this.#tokens - 1);
    return true;
  }

  /**
   * How long until one more event may go.
   *
   * @returns milliseconds, 0 when it may go now
   */
  delayMs(): number {
    if (this.#perMs <= 0) return 0;
    this.#refill();
    return this.#tokens >= 1 - 1e-9 ? 0 : Math.ceil((1 - this.#tokens) / this.#perMs);
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
  }
}
