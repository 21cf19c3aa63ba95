import assert from "node:assert/strict";
import { BACKOFF_DRAFT_MAX_MS, BACKOFF_MAX_MS, backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay doubles from 0.5 s up to 10 s", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 50].map((attempt) => backoffDelay(attempt, 0)),
    [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000],
  );
});

Deno.test("backoffDelay is capped at 2 s while a draft waits", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 50].map((attempt) => backoffDelay(attempt, 0, BACKOFF_DRAFT_MAX_MS)),
    [500, 1000, 2000, 2000, 2000],
  );
});

Deno.test("backoffDelay takes off up to a quarter at random, never more", () => {
  assert.equal(backoffDelay(0, 0.999999), 375);
  assert.equal(backoffDelay(3, 0.5), 3500);
  for (let i = 0; i < 200; i++) {
    const delay = backoffDelay(i % 8);
    assert.ok(delay >= 375 && delay <= BACKOFF_MAX_MS, String(delay));
  }
});
