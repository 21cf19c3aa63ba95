import assert from "node:assert/strict";
import { FloodControl, type FloodVerdict } from "./flood_control.ts";

/** Takes `count` events at time `at` and returns the verdicts. */
function takeMany(flood: FloodControl, count: number, at: number): FloodVerdict[] {
  return Array.from({ length: count }, () => flood.take(at));
}

Deno.test("FloodControl allows the burst, then refuses with one notice a second", () => {
  const flood = new FloodControl({ burst: 3, perSecond: 1 });
  assert.deepEqual(takeMany(flood, 3, 0), ["allow", "allow", "allow"]);
  assert.deepEqual(takeMany(flood, 3, 0), ["refuse_and_notify", "refuse", "refuse"]);
  assert.equal(flood.take(500), "refuse", "half a token is not enough");
  assert.equal(flood.take(999), "refuse", "less than a second since the notice");
  // Refusals cost no tokens: a second after the burst, one token is back.
  assert.equal(flood.take(1000), "allow");
  assert.equal(flood.take(1000), "refuse_and_notify", "a new notice after a second");
});

Deno.test("FloodControl refills at perSecond up to the burst", () => {
  const flood = new FloodControl({ burst: 2, perSecond: 4 });
  assert.deepEqual(takeMany(flood, 2, 0), ["allow", "allow"]);
  assert.equal(flood.take(100), "refuse_and_notify");
  assert.equal(flood.take(250), "allow", "one token after 250 ms at 4/s");
  // A long pause refills to the burst, never beyond it.
  assert.deepEqual(takeMany(flood, 3, 60_000), ["allow", "allow", "refuse_and_notify"]);
});

Deno.test("FloodControl keeps a steady sender at the rate forever", () => {
  const flood = new FloodControl({ burst: 1, perSecond: 5 });
  for (let t = 0; t < 120_000; t += 200) assert.equal(flood.take(t), "allow", `at ${t} ms`);
});

Deno.test("FloodControl with perSecond 0 is off", () => {
  const flood = new FloodControl({ burst: 1, perSecond: 0 });
  assert.ok(takeMany(flood, 10_000, 0).every((v) => v === "allow"));
});

Deno.test("FloodControl disconnects a client still refused 10 s after the first refusal", () => {
  const flood = new FloodControl({ burst: 1, perSecond: 1 });
  assert.equal(flood.take(0), "allow");
  const verdicts: FloodVerdict[] = [];
  // Five a second against one a second: refused 4 times a second, under the 200 cap.
  for (let t = 100; t < 9_900; t += 200) verdicts.push(flood.take(t));
  assert.ok(!verdicts.includes("disconnect"), "not before 10 s");
  assert.ok(verdicts.includes("allow"), "the rate is still honoured meanwhile");
  let t = 9_900;
  while (flood.take(t) !== "disconnect") {
    t += 200;
    assert.ok(t < 11_000, "disconnected soon after 10 s");
  }
  assert.ok(t - 100 >= 10_000, `disconnected ${t - 100} ms after the first refusal`);
});

Deno.test("FloodControl disconnects after more than 200 refused events", () => {
  const flood = new FloodControl({ burst: 1, perSecond: 1 });
  flood.take(0);
  const verdicts = takeMany(flood, 201, 10);
  assert.ok(verdicts.slice(0, 200).every((v) => v !== "disconnect"));
  assert.equal(verdicts[200], "disconnect");
});

Deno.test("FloodControl forgets an episode after 2 s without a refusal", () => {
  const flood = new FloodControl({ burst: 1, perSecond: 1, graceMs: 5_000 });
  flood.take(0);
  assert.equal(flood.take(0), "refuse_and_notify");
  // Calm: one event a second for a while, no refusals.
  for (let t = 1_000; t <= 4_000; t += 1_000) assert.equal(flood.take(t), "allow");
  // A new refusal starts a new grace period instead of ending the old one.
  assert.equal(flood.take(4_100), "refuse_and_notify");
  assert.equal(flood.take(8_000), "allow");
  assert.equal(flood.take(8_100), "refuse_and_notify", "4 s into the new episode, not 8");
});

Deno.test("FloodControl honours custom grace, cap and notice interval", () => {
  const flood = new FloodControl({
    burst: 1,
    perSecond: 1,
    graceMs: 100_000,
    maxRefused: 3,
    noticeEveryMs: 0,
  });
  flood.take(0);
  assert.deepEqual(takeMany(flood, 4, 1), [
    "refuse_and_notify",
    "refuse_and_notify",
    "refuse_and_notify",
    "disconnect",
  ]);
});
