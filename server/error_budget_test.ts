import assert from "node:assert/strict";
import { ErrorBudget } from "./error_budget.ts";

Deno.test("ErrorBudget allows the limit within the window and refuses the next", () => {
  const budget = new ErrorBudget(3, 60_000);
  assert.deepEqual([budget.spend(0), budget.spend(10), budget.spend(20)], [true, true, true]);
  assert.equal(budget.spend(30), false);
});

Deno.test("ErrorBudget slides: errors older than the window no longer count", () => {
  const budget = new ErrorBudget(2, 1_000);
  assert.equal(budget.spend(0), true);
  assert.equal(budget.spend(500), true);
  assert.equal(budget.spend(999), false, "three within a second");
  assert.equal(budget.spend(1_600), true, "the errors at 0 and 500 have aged out");
  // A steady trickle below the limit never runs out.
  const steady = new ErrorBudget(2, 1_000);
  for (let t = 0; t < 100_000; t += 600) assert.equal(steady.spend(t), true, `at ${t}`);
});

Deno.test("ErrorBudget.limit can be raised after the handshake", () => {
  const budget = new ErrorBudget(1, 60_000);
  assert.equal(budget.spend(0), true);
  budget.limit = 10;
  for (let i = 1; i < 10; i++) assert.equal(budget.spend(i), true, `error ${i + 1}`);
  assert.equal(budget.spend(10), false, "the eleventh");
});
