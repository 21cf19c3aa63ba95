/**
 * A log-linear latency histogram for the benchmark: constant memory, less than 1% bucket error,
 * percentiles that can count undelivered messages as infinitely late.
 *
 * @module
 */

/** Values below this are counted exactly, one bucket each. */
const _EXACT = 256;
/** Sub-buckets per power of two above {@linkcode _EXACT}: the relative error is below 1/128. */
const _SUB_BITS = 7;
const _SUB = 1 << _SUB_BITS;
/** The largest value kept apart; larger values are counted in the last bucket. */
const _CAP = 2 ** 31 - 1;
const _BUCKETS = _EXACT + (31 - 8) * _SUB;

/** The bucket index of a non-negative integer value at most {@linkcode _CAP}. */
function _bucketOf(value: number): number {
  if (value < _EXACT) return value;
  const exponent = 31 - Math.clz32(value);
  const shift = exponent - _SUB_BITS;
  return _EXACT + (exponent - 8) * _SUB + ((value >>> shift) - _SUB);
}

/** The largest value that falls into a bucket. */
function _bucketTop(index: number): number {
  if (index < _EXACT) return index;
  const exponent = Math.floor((index - _EXACT) / _SUB) + 8;
  const sub = (index - _EXACT) % _SUB + _SUB;
  const shift = exponent - _SUB_BITS;
  return (sub + 1) * 2 ** shift - 1;
}

/**
 * The percents at which {@linkcode LatencyHistogram.curve} reads the distribution by default:
 * dense in the tail, where a fan-out's trouble shows.
 */
export const LATENCY_CURVE_PERCENTS: readonly number[] = Object.freeze([
  1,
  5,
  10,
  25,
  50,
  75,
  90,
  95,
  98,
  99,
  99.5,
  99.8,
  99.9,
  99.95,
  99.99,
  100,
]);

/**
 * Percentiles of a latency histogram in microseconds. A percentile is `null` when it falls
 * among the undelivered messages (later than the drain), or when nothing was recorded.
 */
export interface LatencySummary {
  /** Values recorded. */
  readonly count: number;
  /** Messages counted as never delivered (infinitely late). */
  readonly undelivered: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
  /** The largest recorded value; `null` if nothing was recorded. */
  readonly max: number | null;
  /** The mean of the recorded values; `null` if nothing was recorded. */
  readonly mean: number | null;
}

/**
 * Counts latencies (in microseconds, as integers) in log-linear buckets: values below 256 are
 * exact, larger ones are kept with 128 buckets per power of two, so a reported percentile is at
 * most 0.8% above the true value (never below it, and never above the maximum recorded).
 * Negative values count as 0; values above about 35 minutes count as that.
 *
 * @example Record and read percentiles
 * ```ts
 * import assert from "node:assert/strict";
 * import { LatencyHistogram } from "./stats.ts";
 * const histogram = new LatencyHistogram();
 * for (let us = 1; us <= 100; us++) histogram.record(us);
 * assert.ok(histogram.percentile(50) === 50);
 * assert.ok(histogram.percentile(99, 10) === Infinity);
 * ```
 */
export class LatencyHistogram {
  #counts = new Float64Array(_BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** How many values were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The largest value recorded (0 when empty). */
  get max(): number {
    return this.#max;
  }

  /** The mean of the recorded values (NaN when empty). */
  get mean(): number {
    return this.#sum / this.#count;
  }

  /**
   * Counts one value.
   *
   * @param microseconds the latency; rounded down to an integer, clamped to 0 and about 35 min
   */
  record(microseconds: number): void {
    let value = Math.floor(microseconds);
    if (!(value > 0)) value = 0;
    if (value > _CAP) value = _CAP;
    this.#counts[_bucketOf(value)]! += 1;
    this.#count++;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  /**
   * Adds every value of another histogram to this one.
   *
   * @param other the histogram to add; it is not changed
   */
  merge(other: LatencyHistogram): void {
    const counts = other.#counts;
    for (let i = 0; i < _BUCKETS; i++) this.#counts[i]! += counts[i]!;
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /**
   * The smallest value such that at least `percent` % of all values are at or below it, where
   * `undelivered` more values count as infinitely late.
   *
   * @param percent from 0 (exclusive) to 100
   * @param undelivered how many values to count as infinite; 0 by default
   * @returns the value (a bucket's top, capped at the maximum recorded), `Infinity` when the rank
   *   falls among the undelivered ones, or `NaN` when there is nothing at all
   * @throws {RangeError} if `percent` is not above 0 and at most 100, or `undelivered` is negative
   */
  percentile(percent: number, undelivered = 0): number {
    if (!(percent > 0 && percent <= 100)) {
      throw new RangeError(`Percentile must be above 0 and at most 100: "${percent}"`);
    }
    if (!(undelivered >= 0)) {
      throw new RangeError(`Undelivered count must not be negative: "${undelivered}"`);
    }
    const total = this.#count + undelivered;
    if (total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((percent / 100) * total - 1e-9));
    if (rank > this.#count) return Infinity;
    let seen = 0;
    for (let i = 0; i < _BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(_bucketTop(i), this.#max);
    }
    return this.#max;
  }

  /**
   * The latency distribution as points of its percentile curve, for a chart: at each percent
   * given, the latency at or below which that share of all values lies.
   *
   * @param percents the percents to read, each above 0 and at most 100
   * @param undelivered how many values never arrived; 0 by default
   * @returns one `[percent, µs]` pair per percent, with `null` where the percent falls among the
   *   undelivered ones (or nothing was recorded)
   * @throws {RangeError} as {@linkcode LatencyHistogram.percentile} does
   */
  curve(
    percents: readonly number[] = LATENCY_CURVE_PERCENTS,
    undelivered = 0,
  ): [number, number | null][] {
    return percents.map((percent) => {
      const value = this.percentile(percent, undelivered);
      return [percent, Number.isFinite(value) ? value : null];
    });
  }

  /**
   * The usual percentiles, with `undelivered` values counted as infinitely late.
   *
   * @param undelivered how many values never arrived; 0 by default
   * @returns the summary; see {@linkcode LatencySummary} for what `null` means
   */
  summary(undelivered = 0): LatencySummary {
    const at = (percent: number): number | null => {
      const value = this.percentile(percent, undelivered);
      return Number.isFinite(value) ? value : null;
    };
    const empty = this.#count === 0;
    return {
      count: this.#count,
      undelivered,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: empty ? null : this.#max,
      mean: empty ? null : Math.round(this.#sum / this.#count),
    };
  }
}
