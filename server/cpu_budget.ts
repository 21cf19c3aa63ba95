/**
 * How fan-out paces itself: a budget of CPU time that refills with the time that passes, so a
 * burst of writes goes out at once while a load that would keep the core busy is slowed to a
 * share of it.
 *
 * @module
 */

/**
 * The share of the core fan-out may keep busy over time. A write costs about 12 µs here (8 of
 * them in the kernel), so handing a message to 1000 members costs about 12 ms: a busy large room
 * then gathers more messages into each write instead of saturating its core, and reading keeps
 * up.
 */
export const FLUSH_MAX_BUSY = 0.85;

/**
 * The CPU time, in milliseconds, that may be spent at once beyond that share before pacing starts:
 * a little more than one message to 1000 members costs. A chat at a person's pace, one message at
 * a time, is never paced, so its last member gets a message as soon as the writes allow.
 */
export const FLUSH_BURST_CPU_MS = 15;

/** The longest pause between ticks, whatever the load: a bound on the latency pacing adds. */
export const MAX_FLUSH_PAUSE_MS = 50;

/**
 * Pauses shorter than this are not taken: a timer cannot wait less than about this long in
 * Deno, so a short pause would only add latency.
 */
export const MIN_FLUSH_PAUSE_MS = 2;

/**
 * A budget of CPU time (a token bucket): it refills at {@linkcode FLUSH_MAX_BUSY} of the wall
 * time passed, up to {@linkcode FLUSH_BURST_CPU_MS}, and is charged with all the CPU the process
 * used in between (the writes are most of it, and the reads they compete with count too). When it
 * is overdrawn, the next tick waits until it is back to zero.
 *
 * @example A burst within the budget, then a core kept busy
 * ```ts
 * import assert from "node:assert/strict";
 * import { CpuBudget } from "./cpu_budget.ts";
 * const budget = new CpuBudget(0, 0);
 * assert.equal(budget.pauseAfter(12, 12), 0, "12 ms busy: a burst, not paced");
 * const pause = budget.pauseAfter(300, 300); // busy without a break for 300 ms
 * assert.ok(pause > 2, `paced by ${pause} ms`);
 * ```
 */
export class CpuBudget {
  #balance = FLUSH_BURST_CPU_MS;
  #at: number;
  #cpu: number;

  /**
   * @param now the wall clock now, in milliseconds (monotonic)
   * @param cpu the CPU time the process has used, in milliseconds
   */
  constructor(now: number, cpu: number) {
    this.#at = now;
    this.#cpu = cpu;
  }

  /**
   * Charges the CPU used since the last call and credits the time passed.
   *
   * @param now the wall clock now, in milliseconds (monotonic)
   * @param cpu the CPU time the process has used, in milliseconds
   * @returns how long the next tick should wait, in milliseconds (0: at once), at most
   *   {@linkcode MAX_FLUSH_PAUSE_MS}
   */
  pauseAfter(now: number, cpu: number): number {
    const credit = Math.max(0, now - this.#at) * FLUSH_MAX_BUSY;
    const charge = Math.max(0, cpu - this.#cpu);
    // The debt is bounded by one longest pause, so a single long stall (a full collection of a
    // large heap) costs one bounded pause, not a run of them.
    this.#balance = Math.max(
      -MAX_FLUSH_PAUSE_MS * FLUSH_MAX_BUSY,
      Math.min(FLUSH_BURST_CPU_MS, this.#balance + credit - charge),
    );
    this.#at = now;
    this.#cpu = cpu;
    return this.#balance >= 0 ? 0 : -this.#balance / FLUSH_MAX_BUSY;
  }
}
