/**
 * Flood control for one client: a token bucket, and the rule that turns a client which keeps
 * flooding into one that is disconnected.
 *
 * @module
 */

/** Options of a {@linkcode FloodControl}. */
export interface FloodControlOptions {
  /** Events allowed in a burst. */
  readonly burst: number;
  /** Events per second allowed over time; 0 turns flood control off. */
  readonly perSecond: number;
  /** Milliseconds a client may stay over the limit before it is disconnected. */
  readonly graceMs?: number;
  /** Refused events after which a client is disconnected. */
  readonly maxRefused?: number;
  /** Milliseconds between two `rate_limited` notices to the client. */
  readonly noticeEveryMs?: number;
}

/** What to do with one counted event. */
export type FloodVerdict =
  /** Relay it. */
  | "allow"
  /** Drop it and tell the client `rate_limited`. */
  | "refuse_and_notify"
  /** Drop it silently: the client was told less than a second ago. */
  | "refuse"
  /** Drop it and disconnect the client with reason `flood`. */
  | "disconnect";

/**
 * A token bucket with a flood rule: once a client is refused, it has `graceMs` (10 s) to slow
 * down; a client still refused after that, or refused more than `maxRefused` (200) times before
 * it slows down, is to be disconnected. A client that goes two seconds without a refusal starts
 * afresh.
 *
 * @example Burst of 2, then refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { FloodControl } from "./flood_control.ts";
 * const flood = new FloodControl({ burst: 2, perSecond: 1 });
 * assert.ok(flood.take(0) === "allow");
 * assert.ok(flood.take(0) === "allow");
 * assert.ok(flood.take(0) === "refuse_and_notify");
 * assert.ok(flood.take(1) === "refuse");
 * ```
 */
export class FloodControl {
  #burst: number;
  #perMs: number;
  #graceMs: number;
  #maxRefused: number;
  #noticeEveryMs: number;
  #tokens: number;
  #updatedAt = -Infinity;
  #episodeStart = -1;
  #lastRefusal = -Infinity;
  #lastNotice = -Infinity;
  #refused = 0;

  /** @param options burst, rate and the flood rule */
  constructor(options: FloodControlOptions) {
    this.#burst = options.burst;
    this.#perMs = options.perSecond / 1000;
    this.#graceMs = options.graceMs ?? 10_000;
    this.#maxRefused = options.maxRefused ?? 200;
    this.#noticeEveryMs = options.noticeEveryMs ?? 1000;
    this.#tokens = options.burst;
  }

  /**
   * Counts one event.
   *
   * @param now the time in milliseconds
   * @returns what to do with the event
   */
  take(now: number): FloodVerdict {
    if (this.#perMs === 0) return "allow";
    if (this.#updatedAt !== -Infinity) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#perMs);
    }
    this.#updatedAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      if (this.#episodeStart >= 0 && now - this.#lastRefusal >= 2000) {
        this.#episodeStart = -1;
        this.#refused = 0;
      }
      return "allow";
    }
    if (this.#episodeStart < 0) this.#episodeStart = now;
    this.#lastRefusal = now;
    this.#refused++;
    if (this.#refused > this.#maxRefused || now - this.#episodeStart >= this.#graceMs) {
      return "disconnect";
    }
    if (now - this.#lastNotice >= this.#noticeEveryMs) {
      this.#lastNotice = now;
      return "refuse_and_notify";
    }
    return "refuse";
  }
}
