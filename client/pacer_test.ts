import assert from "node:assert/strict";
import { Pacer } from "./pacer.ts";

function fakeClock() {
  const state = { now: 0, waits: [] as number[] };
  return {
    state,
    now: () => state.now,
    sleep: (ms: number) => {
      state.waits.push(ms);
      state.now += ms;
      return Promise.resolve();
    },
  };
}

Deno.test("Pacer lets a burst through, then paces at the steady rate", async () => {
  const clock = fakeClock();
  const pacer = new Pacer({ burst: 3, perSecond: 2, now: clock.now, sleep: clock.sleep });
  for (let i = 0; i < 3; i++) await pacer.take();
  assert.deepEqual(clock.state.waits, []);
  for (let i = 0; i < 4; i++) await pacer.take();
  assert.deepEqual(clock.state.waits, [500, 500, 500, 500]);
  assert.equal(clock.state.now, 2000);
});

Deno.test("Pacer refills while idle, up to the burst", async () => {
  const clock = fakeClock();
  const pacer = new Pacer({ burst: 2, perSecond: 10, now: clock.now, sleep: clock.sleep });
  await pacer.take();
  await pacer.take();
  clock.state.now += 60_000;
  for (let i = 0; i < 2; i++) await pacer.take();
  assert.deepEqual(clock.state.waits, []);
  await pacer.take();
  assert.deepEqual(clock.state.waits, [100]);
});

Deno.test("Pacer with no rate never waits", async () => {
  const clock = fakeClock();
  const pacer = new Pacer({ burst: 1, perSecond: 0, now: clock.now, sleep: clock.sleep });
  for (let i = 0; i < 100; i++) await pacer.take();
  assert.deepEqual(clock.state.waits, []);
});

Deno.test("Pacer.tryTake never waits: it says when the next event may go", () => {
  let clock = 0;
  const pacer = new Pacer({ burst: 2, perSecond: 4, now: () => clock });
  assert.ok(pacer.tryTake());
  assert.ok(pacer.tryTake());
  assert.ok(!pacer.tryTake());
  assert.equal(pacer.delayMs(), 250);
  clock += 250;
  assert.equal(pacer.delayMs(), 0);
  assert.ok(pacer.tryTake());
});
