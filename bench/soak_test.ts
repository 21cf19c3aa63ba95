/**
 * Tests of the soak benchmark's pieces that need no server: its arguments and its verdict.
 */

import assert from "node:assert/strict";
import { UsageError } from "../flags/usage_error.ts";
import { DEFAULT_SOAK_OPTIONS, judgeFlatness, parseSoakArgs, type SoakSample } from "./soak.ts";

const curve = (mib: readonly number[], step = 10): SoakSample[] =>
  mib.map((value, i) => ({ t: i * step, rssKb: value * 1024, cpuPct: 0 }));

Deno.test("parseSoakArgs gives the issue's defaults and reads every flag", () => {
  assert.deepEqual(parseSoakArgs([]), DEFAULT_SOAK_OPTIONS);
  assert.equal(parseSoakArgs(["--help"]), null);
  assert.deepEqual(
    parseSoakArgs([
      "--minutes",
      "3",
      "--clients",
      "50",
      "--rate",
      "20",
      "--interval",
      "5",
      "--warmup",
      "1",
      "--no-pin",
      "--output",
      "/tmp/soak.json",
    ]),
    {
      minutes: 3,
      clients: 50,
      rate: 20,
      interval: 5,
      warmup: 1,
      pin: false,
      output: "/tmp/soak.json",
    },
  );
  // A short run warms up for a fifth of its length.
  assert.equal(parseSoakArgs(["--minutes", "5"])?.warmup, 1);
});

Deno.test("parseSoakArgs refuses bad values with a usage error", () => {
  for (
    const args of [
      ["--minutes", "0"],
      ["--clients", "1"],
      ["--clients", "2.5"],
      ["--rate", "-1"],
      ["--warmup", "10"],
      ["--bogus"],
    ]
  ) {
    assert.throws(() => parseSoakArgs(args), UsageError, args.join(" "));
  }
});

Deno.test("judgeFlatness accepts a curve that levels off after the warm-up", () => {
  const verdict = judgeFlatness(curve([40, 55, 62, 63, 62, 63, 63, 62, 63, 63]), 20);
  assert.equal(verdict.flat, true);
  assert.equal(verdict.samples, 8);
  assert.ok(Math.abs(verdict.endGrowthKb - 1024) < 1);
});

Deno.test("judgeFlatness refuses a slow steady climb and a late jump", () => {
  // 1 MiB a sample: 7 MiB over the run, above the 4 MiB floor.
  assert.equal(judgeFlatness(curve([40, 50, 51, 52, 53, 54, 55, 56, 57]), 20).flat, false);
  const jump = judgeFlatness(curve([50, 60, 60, 60, 60, 60, 60, 60, 70]), 20);
  assert.equal(jump.flat, false);
  assert.ok(jump.endGrowthKb > jump.boundKb);
});

Deno.test("judgeFlatness allows 5 % of a large server's memory, and needs three samples", () => {
  // 400 MiB: the bound is 20 MiB, so 10 MiB of noise is flat.
  assert.equal(judgeFlatness(curve([300, 400, 410, 400, 405, 410]), 10).flat, true);
  assert.equal(judgeFlatness(curve([50, 50, 50]), 15).flat, false);
});
