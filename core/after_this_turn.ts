/**
 * Runs a callback once the reads that completed in this turn of the event loop have all been
 * handled: `setImmediate` does that in Deno without the ~2 ms a `setTimeout(0)` costs (measured
 * on our build machines). Used where work is gathered over a turn and then done once: the
 * in-process broker's group commit, and the fan-out's ticks.
 *
 * @module
 */

const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown })
  .setImmediate;

/**
 * Calls `callback` after the current turn of the event loop.
 *
 * @param callback what to run; it must not throw
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { afterThisTurn } from "./after_this_turn.ts";
 * const order: string[] = [];
 * await new Promise<void>((resolve) => {
 *   afterThisTurn(() => {
 *     order.push("after");
 *     resolve();
 *   });
 *   order.push("now");
 * });
 * assert.deepEqual(order, ["now", "after"]);
 * ```
 */
export function afterThisTurn(callback: () => void): void {
  if (immediate === undefined) setTimeout(callback, 0);
  else immediate(callback);
}
