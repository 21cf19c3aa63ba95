import assert from "node:assert/strict";
import { BACKOFF_MAX_MS, backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay doubles from 1 s up to 30 s", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 50].map((attempt) => backoffDelay(attempt, 0)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
});

Deno.test("backoffDelay takes off up to a quarter at random, never more", () => {
  assert.equal(backoffDelay(0, 0.999999), 750);
  assert.equal(backoffDelay(3, 0.5), 7000);
  for (let i = 0; i < 200; i++) {
    const delay = backoffDelay(i % 8);
    assert.ok(delay >= 750 && delay <= BACKOFF_MAX_MS, String(delay));
  }
});
