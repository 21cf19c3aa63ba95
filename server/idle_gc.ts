/**
 * Gives memory back once the server goes quiet after a burst. V8 grows its heap during a burst
 * (a join storm, a busy room) and keeps it: its own memory reducer only starts after a full
 * collection and an idle period that an embedder like Deno never reports, so a server that
 * goes idle holding thousands of connections keeps the high-water mark (measured: ~95 MB of V8
 * heap for ~20 MB of live objects, unchanged after 25 s of idleness). When the allocation rate
 * has been low for a moment and the heap is well above what was live after the last trim, one
 * memory-reducing collection shrinks it back (young generation included).
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";

/**
 * Allocation below this many bytes per second counts as quiet. An idle server holding 5000
 * connections allocates about 3 MB/s (its deadline sweep among it); a join storm or a busy room,
 * 50 to 150 MB/s.
 */
const QUIET_BYTES_PER_SECOND = 16 * 1024 * 1024;
/**
 * How long it must stay quiet before a trim. Short, because RSS stays at the burst's high-water
 * mark until the trim: a join storm of 5000 clients leaves ~17 MB of heap that a trim gives back
 * in a ~90 ms pause. A trim that comes too early costs one such pause and no more, since the next
 * one waits for another {@linkcode GROWTH_BYTES} of growth.
 */
const QUIET_MS = 200;
/** How often the server should call {@linkcode IdleGc.check}; a check reads two heap figures. */
export const IDLE_GC_CHECK_MS = 100;
/** How far the heap must have grown past its size after the last trim to be worth a trim. */
const GROWTH_BYTES = 32 * 1024 * 1024;
/**
 * The growth that is enough when the activity count moved since the last trim. A server starved
 * of CPU can look quiet for 200 ms in the middle of a join storm and trim there; the rest of the
 * storm then grew the heap by less than {@linkcode GROWTH_BYTES} (measured: 5000 clients, a trim
 * at 3950, 13 KB of RSS per connection left where a trim at its end leaves 7). A busy room that takes no new
 * connections keeps the larger bar, so it is not paused by full collections more often.
 */
const GROWTH_AFTER_ACTIVITY_BYTES = 16 * 1024 * 1024;

/** The heap figures a trimmer reads. */
export interface HeapFigures {
  /** Bytes allocated since the process started (only ever grows). */
  readonly allocated: number;
  /** Bytes the heap holds from the system. */
  readonly heapSize: number;
}

/** Options of an {@linkcode IdleGc}. */
export interface IdleGcOptions {
  /** Runs a memory-reducing collection; see {@linkcode memoryReducingGc}. */
  readonly collect: () => void;
  /** Reads the heap figures; V8's by default. */
  readonly heap?: () => HeapFigures;
  /**
   * A count of work done that only ever grows (the server's connections accepted); growth since
   * the last check is not quiet, whatever the allocation rate. Allocation per second of wall time
   * alone is not enough: on a machine whose CPU other processes take, the server runs a small
   * part of each second, so in the middle of a flood of connections its allocation rate fell
   * below {@linkcode QUIET_BYTES_PER_SECOND}, and trims of 250-850 ms (a full collection is that
   * slow when starved) stalled every member during condition 15 of the adversarial suite.
   * Growth of the count since the last trim also lowers the bar to
   * {@linkcode GROWTH_AFTER_ACTIVITY_BYTES}.
   */
  readonly activity?: () => number;
}

/**
 * Decides when to trim. The server calls {@linkcode IdleGc.check} every {@linkcode IDLE_GC_CHECK_MS}.
 *
 * @example A burst, then quiet: one trim
 * ```ts
 * import assert from "node:assert/strict";
 * import { IdleGc } from "./idle_gc.ts";
 * let heap = { allocated: 0, heapSize: 10e6 };
 * let trims = 0;
 * const idle = new IdleGc({ collect: () => (trims++, heap = { ...heap, heapSize: 10e6 }), heap: () => heap });
 * idle.check(0);
 * heap = { allocated: 500e6, heapSize: 90e6 }; // a burst
 * idle.check(250);
 * for (let t = 500; t <= 2000; t += 250) idle.check(t);
 * assert.ok(trims === 1);
 * ```
 */
export class IdleGc {
  #collect: () => void;
  #heap: () => HeapFigures;
  #activity: () => number;
  #lastActivity: number;
  #lastAt = -Infinity;
  #lastAllocated = 0;
  #quietSince = Infinity;
  #baseline: number;
  /** True when the activity count moved since the last trim. */
  #activeSinceTrim = false;

  /** @param options the collection to run, and where the heap figures come from */
  constructor(options: IdleGcOptions) {
    this.#collect = options.collect;
    this.#heap = options.heap ?? v8HeapFigures;
    this.#activity = options.activity ?? (() => 0);
    this.#lastActivity = this.#activity();
    const figures = this.#heap();
    this.#lastAllocated = figures.allocated;
    this.#baseline = figures.heapSize;
  }

  /**
   * Trims if the heap has grown and allocation and activity have been quiet for a moment.
   *
   * @param now a monotonic time in milliseconds
   * @returns true when it trimmed
   */
  check(now: number): boolean {
    const figures = this.#heap();
    const elapsed = now - this.#lastAt;
    const rate = elapsed > 0 ? (figures.allocated - this.#lastAllocated) * 1000 / elapsed : 0;
    const activity = this.#activity();
    const active = activity !== this.#lastActivity;
    this.#lastAt = now;
    this.#lastAllocated = figures.allocated;
    this.#lastActivity = activity;
    if (active) this.#activeSinceTrim = true;
    if (active || !(rate <= QUIET_BYTES_PER_SECOND) || !Number.isFinite(elapsed)) {
      this.#quietSince = Infinity;
      return false;
    }
    if (this.#quietSince === Infinity) this.#quietSince = now;
    if (now - this.#quietSince < QUIET_MS) return false;
    const growth = this.#activeSinceTrim ? GROWTH_AFTER_ACTIVITY_BYTES : GROWTH_BYTES;
    if (figures.heapSize < this.#baseline + growth) return false;
    this.#collect();
    this.#baseline = this.#heap().heapSize;
    this.#activeSinceTrim = false;
    return true;
  }
}

function v8HeapFigures(): HeapFigures {
  const stats = v8.getHeapStatistics() as {
    total_allocated_bytes?: number;
    total_heap_size: number;
  };
  // Without the allocation counter nothing ever looks quiet (NaN), so nothing is trimmed.
  return { allocated: stats.total_allocated_bytes ?? NaN, heapSize: stats.total_heap_size };
}

/**
 * A memory-reducing full collection (V8's "last resort" collection, which also shrinks the young
 * generation and releases pooled pages), or undefined when the runtime offers none. Deno gives a
 * program no V8 flags, but V8 installs `gc` in contexts made after `--expose-gc` is set, as in
 * Node; where that fails, the server simply does not trim.
 *
 * @returns the collection, or undefined
 */
export function memoryReducingGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    if (typeof gc !== "function") return undefined;
    return () => gc({ type: "major", execution: "sync", flavor: "last-resort" });
  } catch {
    return undefined;
  }
}
