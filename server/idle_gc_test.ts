import assert from "node:assert/strict";
import { type HeapFigures, IdleGc, memoryReducingGc } from "./idle_gc.ts";

const MB = 1024 * 1024;

/** A heap the test moves by hand, and a collection that shrinks it to `live`. */
function fakeHeap(live = 10 * MB) {
  let figures: HeapFigures = { allocated: 0, heapSize: live };
  const trims: number[] = [];
  let now = 0;
  const idle = new IdleGc({
    collect: () => {
      trims.push(now);
      figures = { ...figures, heapSize: live };
    },
    heap: () => figures,
  });
  return {
    trims,
    /** Advances the clock by `ms`, allocating `bytes` and growing the heap by `grow`, then checks. */
    step(ms: number, bytes: number, grow = 0): boolean {
      now += ms;
      figures = { allocated: figures.allocated + bytes, heapSize: figures.heapSize + grow };
      return idle.check(now);
    },
  };
}

Deno.test("IdleGc trims once the heap has grown and allocation has been quiet for 200 ms", () => {
  const heap = fakeHeap();
  heap.step(100, 0);
  for (let i = 0; i < 20; i++) heap.step(100, 16 * MB, 4 * MB); // a burst: 160 MB/s
  assert.deepEqual(heap.trims, [], "never while busy");
  heap.step(100, 0.3 * MB); // 3 MB/s: quiet from here
  heap.step(100, 0.3 * MB);
  assert.deepEqual(heap.trims, [], "not before 200 ms of quiet");
  assert.equal(heap.step(100, 0.3 * MB), true);
  assert.equal(heap.trims.length, 1);
  heap.step(100, 16 * MB); // a short burst, then quiet again
  for (let i = 0; i < 50; i++) heap.step(100, 0.3 * MB);
  assert.equal(heap.trims.length, 1, "not again until the heap grows again");
});

Deno.test("IdleGc leaves a heap that has not grown much alone, however quiet", () => {
  const heap = fakeHeap();
  for (let i = 0; i < 40; i++) heap.step(250, 0, i < 10 ? 3 * MB : 0);
  assert.deepEqual(heap.trims, [], "30 MB of growth is not worth a trim");
  heap.step(250, 0, 3 * MB);
  for (let i = 0; i < 3; i++) heap.step(250, 0);
  assert.equal(heap.trims.length, 1, "33 MB is");
});

Deno.test("IdleGc waits for the activity count to stand still, however little is allocated", () => {
  let figures: HeapFigures = { allocated: 0, heapSize: 10 * MB };
  let accepted = 0;
  const trims: number[] = [];
  const idle = new IdleGc({
    collect: () => {
      trims.push(accepted);
      figures = { ...figures, heapSize: 10 * MB };
    },
    heap: () => figures,
    activity: () => accepted,
  });
  idle.check(0);
  figures = { allocated: 300 * MB, heapSize: 90 * MB }; // a burst
  idle.check(100);
  // A starved server in a flood: 1 MB/s of allocation, but connections keep arriving.
  for (let t = 200; t <= 3000; t += 100) {
    accepted += 20;
    figures = { ...figures, allocated: figures.allocated + 0.1 * MB };
    idle.check(t);
  }
  assert.deepEqual(trims, [], "never while connections arrive");
  for (let t = 3100; t <= 3400; t += 100) idle.check(t);
  assert.deepEqual(trims, [580], "once they have stopped for 200 ms");
});

Deno.test("IdleGc trims again at the end of a join storm that a trim interrupted", () => {
  let figures: HeapFigures = { allocated: 0, heapSize: 10 * MB };
  let accepted = 0;
  let live = 10 * MB;
  const trims: number[] = [];
  const idle = new IdleGc({
    collect: () => {
      trims.push(accepted);
      figures = { ...figures, heapSize: live };
    },
    heap: () => figures,
    activity: () => accepted,
  });
  let t = 0;
  const joins = (count: number, grow: number) => {
    for (let i = 0; i < count; i++) {
      accepted += 50;
      figures = { allocated: figures.allocated + MB, heapSize: figures.heapSize + grow };
      idle.check(t += 100);
    }
  };
  const pause = (ms: number) => {
    const end = t + ms;
    while (t < end) idle.check(t += 100);
  };
  joins(80, MB); // 4000 joins, the heap at 90 MB
  live = 24 * MB;
  pause(300); // a starved server looks quiet for a moment
  assert.deepEqual(trims, [4000]);
  joins(20, MB); // 1000 more: 20 MB over what the trim left
  pause(300);
  assert.deepEqual(trims, [4000, 5000], "the end of the storm is trimmed too");
  figures = { ...figures, heapSize: figures.heapSize + 20 * MB }; // a room busy after it
  pause(1000);
  assert.deepEqual(trims, [4000, 5000], "growth without new connections waits for 32 MB");
});

Deno.test("IdleGc never trims without an allocation counter", () => {
  let size = 10 * MB;
  let trims = 0;
  const idle = new IdleGc({
    collect: () => trims++,
    heap: () => ({ allocated: NaN, heapSize: size }),
  });
  for (let t = 0; t < 5000; t += 250) {
    size += 10 * MB;
    idle.check(t);
  }
  assert.equal(trims, 0);
});

Deno.test("memoryReducingGc is available on this Deno and shrinks the heap", () => {
  const collect = memoryReducingGc();
  assert.equal(typeof collect, "function");
  // Grow the heap (young generation included) with objects that survive a while, then drop them.
  let keep: unknown[][] = [];
  for (let round = 0; round < 40; round++) {
    keep.push(Array.from({ length: 20_000 }, (_, i) => ({ i, round })));
    if (keep.length > 10) keep.shift();
  }
  keep = [];
  const before = Deno.memoryUsage();
  collect!();
  const after = Deno.memoryUsage();
  assert.ok(after.heapUsed < before.heapUsed, "garbage was collected");
  assert.ok(
    after.heapTotal < before.heapTotal,
    `the heap shrank: ${before.heapTotal} -> ${after.heapTotal}`,
  );
});
