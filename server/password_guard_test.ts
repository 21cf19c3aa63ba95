import assert from "node:assert/strict";
import { PasswordGuard, samePassword } from "./password_guard.ts";

Deno.test("PasswordGuard doubles the wait of an address with each wrong password, up to the cap", () => {
  let now = 0;
  const guard = new PasswordGuard("pw", { now: () => now, minDelayMs: 100, maxDelayMs: 800 });
  assert.equal(guard.reserve("a"), 0);
  assert.ok(!guard.check("a", "x"));
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    const wait = guard.reserve("a");
    waits.push(wait);
    now += wait;
    assert.ok(!guard.check("a", "x"));
  }
  assert.deepEqual(waits, [100, 200, 400, 800, 800, 800]);
  // Another address is not slowed; the right password clears the offender.
  assert.equal(guard.reserve("b"), 0);
  now += guard.reserve("a");
  assert.ok(guard.check("a", "pw"));
  assert.equal(guard.reserve("a"), 0);
});

Deno.test("PasswordGuard gives concurrent attempts of one address separate slots", () => {
  const now = 0;
  const guard = new PasswordGuard("pw", { now: () => now, minDelayMs: 100, maxDelayMs: 10_000 });
  guard.check("a", "x");
  // Three connections at once: each waits for the slot after the one before.
  assert.deepEqual([guard.reserve("a"), guard.reserve("a"), guard.reserve("a")], [100, 200, 300]);
});

Deno.test("PasswordGuard keeps at most maxOffenders addresses, forgetting the least recent", () => {
  let now = 0;
  const guard = new PasswordGuard("pw", { now: () => now, maxOffenders: 100 });
  for (let i = 0; i < 10_000; i++) {
    now++;
    guard.check(`10.0.${i >> 8}.${i & 255}`, "x");
  }
  assert.equal(guard.offenders, 100);
  assert.ok(guard.reserve("10.0.39.15") > 0, "the most recent offender is remembered");
  assert.equal(guard.reserve("10.0.0.1"), 0, "the oldest was forgotten");
});

Deno.test("PasswordGuard forgets an offender quiet for the memory time", () => {
  let now = 0;
  const guard = new PasswordGuard("pw", { now: () => now, memoryMs: 1000 });
  guard.check("a", "x");
  now = 2000;
  assert.equal(guard.reserve("a"), 0);
  assert.equal(guard.offenders, 0);
});

Deno.test("samePassword compares whole strings", () => {
  assert.ok(samePassword("abc", "abc"));
  assert.ok(!samePassword("abd", "abc"));
  assert.ok(!samePassword("ab", "abc"));
  assert.ok(!samePassword("abcd", "abc"));
  assert.ok(!samePassword("", "abc"));
  assert.ok(samePassword("", ""));
});
