import assert from "node:assert/strict";
import { SlabPool } from "./slab_pool.ts";

Deno.test("SlabPool hands out distinct slots of one slab, then opens another", () => {
  const pool = new SlabPool(16, 3);
  const slots = [pool.take(), pool.take(), pool.take()];
  assert.equal(pool.slabCount, 1);
  assert.deepEqual(slots.map((slot) => slot.byteOffset).sort((a, b) => a - b), [0, 16, 32]);
  slots[0]!.fill(1);
  assert.deepEqual([...slots[1]!], new Array(16).fill(0), "slots do not overlap");
  const fourth = pool.take();
  assert.equal(pool.slabCount, 2);
  assert.notEqual(fourth.buffer, slots[0]!.buffer);
});

Deno.test("SlabPool reuses a slot given back", () => {
  const pool = new SlabPool(16, 2);
  const first = pool.take();
  pool.take();
  pool.give(first);
  const again = pool.take();
  assert.equal(again.buffer, first.buffer);
  assert.equal(again.byteOffset, first.byteOffset);
  assert.equal(pool.slabCount, 1);
});

Deno.test("SlabPool drops an empty slab while another has room, but keeps the last one", () => {
  const pool = new SlabPool(8, 2);
  const a = [pool.take(), pool.take()];
  const b = pool.take();
  assert.equal(pool.slabCount, 2);
  for (const slot of a) pool.give(slot);
  assert.equal(pool.slabCount, 1, "the first slab is empty and the second has room: dropped");
  pool.give(b);
  assert.equal(pool.slabCount, 1, "the last slab stays for the next connection");
});

Deno.test("SlabPool ignores foreign buffers and a slot given back twice", () => {
  const pool = new SlabPool(8, 2);
  const slot = pool.take();
  pool.give(new Uint8Array(8));
  pool.give(slot);
  pool.give(slot);
  const taken = [pool.take(), pool.take()];
  assert.notEqual(taken[0]!.byteOffset, taken[1]!.byteOffset, "the slot was not listed twice");
  assert.equal(pool.slabCount, 1);
});

Deno.test("SlabPool refuses sizes that are not positive whole numbers", () => {
  assert.throws(() => new SlabPool(0, 4), RangeError);
  assert.throws(() => new SlabPool(16, 1.5), RangeError);
});
