/**
 * The catch-up of the interactive client: replayed history (what was missed while away, after a
 * `welcome` or a reconnection) scrolled in a few lines per frame instead of in one write, so a
 * thousand messages neither flood the terminal at once nor hold up the input line. Whatever
 * arrives while a catch-up is under way queues behind it, so the order on screen is the order
 * the server sent. Pure: the caller owns the timer and the screen.
 *
 * @module
 */

import type { Rendered } from "./render.ts";

/** Frames between the first and the last of a long catch-up: it takes about this many frames. */
export const CATCH_UP_FRAMES = 40;
/** How long a frame lasts, in milliseconds: 40 frames of 50 ms scroll any catch-up in 2 s. */
export const CATCH_UP_FRAME_MS = 50;
/** A queue this short is shown in one frame: a few lines are no flood. */
export const CATCH_UP_AT_ONCE = 20;
/** The fewest items a frame shows, so a catch-up just above the threshold still moves. */
const _MIN_PER_FRAME = 4;

/** One queued piece of output: what one event rendered to. */
interface _Item {
  readonly rendered: Rendered;
  /** True for a replayed message: what the status counts. */
  readonly message: boolean;
}

/**
 * A queue of rendered output that is let out at a bounded pace.
 *
 * @example A long replay comes out over about {@linkcode CATCH_UP_FRAMES} frames
 * ```ts
 * import assert from "node:assert/strict";
 * import { CatchUp } from "./catch_up.ts";
 * const catchUp = new CatchUp();
 * for (let i = 0; i < 400; i++) {
 *   catchUp.push({ lines: [`m${i}`], bell: false, indent: 0 }, true);
 * }
 * assert.equal(catchUp.take().length, 10);
 * assert.equal(catchUp.messages, 390);
 * assert.equal(catchUp.drain().length, 390);
 * assert.equal(catchUp.active, false);
 * ```
 */
export class CatchUp {
  #queue: _Item[] = [];
  /** Index of the next item to let out (items before it are gone; compacted now and then). */
  #head = 0;
  /** Replayed messages still queued. */
  #messages = 0;
  /** The longest the queue was during this catch-up: the pace is set from it. */
  #peak = 0;

  /** True while something waits to be shown: new output must queue behind it. */
  get active(): boolean {
    return this.#head < this.#queue.length;
  }

  /** How many replayed messages are still to be shown. */
  get messages(): number {
    return this.#messages;
  }

  /** True when the queue is long enough to be paced (the status row says so then). */
  get paced(): boolean {
    return this.#queue.length - this.#head > CATCH_UP_AT_ONCE;
  }

  /**
   * Queues one event's output behind what waits.
   *
   * @param rendered the event as rendered
   * @param message true for a replayed message
   */
  push(rendered: Rendered, message: boolean): void {
    this.#queue.push({ rendered, message });
    if (message) this.#messages++;
    this.#peak = Math.max(this.#peak, this.#queue.length - this.#head);
  }

  /**
   * Lets out one frame's worth: all of a short queue, else a share of the longest it was, so
   * a catch-up of any length takes about {@linkcode CATCH_UP_FRAMES} frames.
   *
   * @returns the output to show now, in order
   */
  take(): Rendered[] {
    const left = this.#queue.length - this.#head;
    const count = left <= CATCH_UP_AT_ONCE
      ? left
      : Math.max(_MIN_PER_FRAME, Math.ceil(this.#peak / CATCH_UP_FRAMES));
    return this.#let(Math.min(left, count));
  }

  /**
   * Lets out everything at once (the user asked to jump to the end, or is leaving).
   *
   * @returns all the output that waited, in order
   */
  drain(): Rendered[] {
    return this.#let(this.#queue.length - this.#head);
  }

  #let(count: number): Rendered[] {
    const out: Rendered[] = [];
    for (let i = 0; i < count; i++) {
      const item = this.#queue[this.#head++]!;
      if (item.message) this.#messages--;
      out.push(item.rendered);
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      this.#peak = 0;
    } else if (this.#head > 1024) {
      // Drop what is gone, so a long catch-up does not keep every line it showed.
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }
}
