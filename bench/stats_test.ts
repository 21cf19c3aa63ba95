import assert from "node:assert/strict";
import { LatencyHistogram } from "./stats.ts";

Deno.test("LatencyHistogram counts values below 256 exactly", () => {
  const histogram = new LatencyHistogram();
  for (let us = 1; us <= 200; us++) histogram.record(us);
  assert.equal(histogram.count, 200);
  assert.equal(histogram.percentile(50), 100);
  assert.equal(histogram.percentile(99), 198);
  assert.equal(histogram.percentile(100), 200);
  assert.equal(histogram.percentile(0.1), 1);
  assert.equal(histogram.max, 200);
  assert.equal(histogram.mean, 100.5);
});

Deno.test("LatencyHistogram percentiles stay within 1% above the true value", () => {
  // Deterministic spread over six decades: every recorded value is its own p(100*i/n).
  const values: number[] = [];
  let seed = 12345;
  for (let i = 0; i < 5000; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    values.push(Math.floor(10 ** (1 + 6 * (seed / 2147483648))));
  }
  const histogram = new LatencyHistogram();
  for (const value of values) histogram.record(value);
  const sorted = [...values].sort((a, b) => a - b);
  for (const percent of [1, 10, 25, 50, 75, 90, 99, 99.9]) {
    const truth = sorted[Math.ceil((percent / 100) * sorted.length) - 1]!;
    const got = histogram.percentile(percent);
    assert.ok(got >= truth, `p${percent}: ${got} below the true ${truth}`);
    assert.ok(got <= truth * 1.01, `p${percent}: ${got} more than 1% above the true ${truth}`);
  }
  assert.equal(histogram.percentile(100), sorted.at(-1));
});

Deno.test("LatencyHistogram never reports a percentile above the maximum", () => {
  const histogram = new LatencyHistogram();
  histogram.record(1_000_001);
  assert.equal(histogram.percentile(50), 1_000_001);
});

Deno.test("LatencyHistogram counts undelivered values as infinitely late", () => {
  const histogram = new LatencyHistogram();
  for (let i = 0; i < 98; i++) histogram.record(10);
  assert.equal(histogram.percentile(50, 2), 10);
  assert.equal(histogram.percentile(98, 2), 10);
  assert.equal(histogram.percentile(99, 2), Infinity);
  const summary = histogram.summary(2);
  assert.equal(summary.p50, 10);
  assert.equal(summary.p99, null);
  assert.equal(summary.undelivered, 2);
  assert.equal(summary.max, 10);
});

Deno.test("LatencyHistogram clamps negative, fractional and huge values", () => {
  const histogram = new LatencyHistogram();
  histogram.record(-5);
  histogram.record(2.9);
  histogram.record(1e12);
  assert.equal(histogram.percentile(30), 0);
  assert.equal(histogram.percentile(60), 2);
  assert.equal(histogram.max, 2 ** 31 - 1);
  assert.equal(histogram.percentile(100), 2 ** 31 - 1);
});

Deno.test("LatencyHistogram summary of an empty histogram has no values", () => {
  const summary = new LatencyHistogram().summary();
  assert.deepEqual(summary, {
    count: 0,
    undelivered: 0,
    p50: null,
    p90: null,
    p99: null,
    p999: null,
    max: null,
    mean: null,
  });
  assert.ok(Number.isNaN(new LatencyHistogram().percentile(50)));
});

Deno.test("LatencyHistogram merge adds counts, sums and maxima", () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  for (let i = 0; i < 10; i++) a.record(100);
  for (let i = 0; i < 10; i++) b.record(5000);
  a.merge(b);
  assert.equal(a.count, 20);
  assert.equal(a.max, 5000);
  assert.equal(a.percentile(50), 100);
  assert.ok(a.percentile(51) >= 5000 && a.percentile(51) <= 5000 * 1.01);
  assert.equal(a.mean, 2550);
  assert.equal(b.count, 10);
});

Deno.test("LatencyHistogram percentile refuses percentages out of range", () => {
  const histogram = new LatencyHistogram();
  assert.throws(() => histogram.percentile(0), RangeError);
  assert.throws(() => histogram.percentile(101), RangeError);
  assert.throws(() => histogram.percentile(50, -1), RangeError);
});
