import assert from "node:assert/strict";
import { type ByteWriter, Outbox, type OutboxFailure } from "./outbox.ts";

/** A writer whose writes complete only when the test says so. */
class ManualWriter implements ByteWriter {
  readonly writes: Uint8Array[] = [];
  #pending: { resolve: (n: number) => void; reject: (e: unknown) => void; length: number }[] = [];
  write(bytes: Uint8Array): Promise<number> {
    this.writes.push(bytes);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject, length: bytes.length });
    });
  }
  get waiting(): number {
    return this.#pending.length;
  }
  /** Completes the oldest write, with all its bytes or only `count`. */
  async complete(count?: number): Promise<void> {
    const write = this.#pending.shift();
    assert.ok(write, "a write is under way");
    write.resolve(count ?? write.length);
    await tick();
  }
  async fail(error: unknown): Promise<void> {
    this.#pending.shift()?.reject(error);
    await tick();
  }
}

/** Lets promise callbacks run. */
async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("Outbox writes the first buffer as is, without copying it", async () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {} });
  const frame = bytes(1, 2, 3);
  assert.equal(outbox.enqueue(frame), true);
  assert.equal(writer.writes[0], frame, "the shared buffer itself");
  await writer.complete();
  await outbox.drained();
  assert.equal(outbox.busy, false);
});

Deno.test("Outbox coalesces what is queued during a write into the next single write", async () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {} });
  outbox.enqueue(bytes(1));
  outbox.enqueue(bytes(2, 3));
  outbox.enqueue(bytes(4));
  outbox.enqueue(bytes(5, 6));
  assert.equal(writer.writes.length, 1, "one write under way at a time");
  assert.equal(outbox.queuedBytes, 5);
  await writer.complete();
  assert.equal(writer.writes.length, 2);
  assert.deepEqual([...writer.writes[1]!], [2, 3, 4, 5, 6]);
  assert.equal(outbox.queuedBytes, 0);
  const drained = outbox.drained();
  await writer.complete();
  await drained;
  assert.equal(writer.writes.length, 2);
});

Deno.test("Outbox writes a large queued buffer on its own, never copying it", async () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 1 << 20, onFailure: () => {} });
  const large = new Uint8Array(4096).fill(7);
  outbox.enqueue(bytes(1));
  outbox.enqueue(bytes(2));
  outbox.enqueue(large);
  outbox.enqueue(bytes(3));
  outbox.enqueue(bytes(4));
  await writer.complete();
  assert.deepEqual([...writer.writes[1]!], [2], "small frames are not joined to a large one");
  await writer.complete();
  assert.equal(writer.writes[2], large, "the shared buffer itself");
  await writer.complete();
  assert.deepEqual([...writer.writes[3]!], [3, 4], "small frames after it are joined again");
  await writer.complete();
  await outbox.drained();
  assert.equal(writer.writes.length, 4);
});

Deno.test("Outbox keeps order for a reader that stays behind through thousands of frames", async () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 1 << 24, onFailure: () => {} });
  const large = (n: number) => new Uint8Array(4096).fill(n % 251);
  let sent = 0;
  outbox.enqueue(large(sent++));
  // Each turn, two more frames arrive while one write completes: the queue never drains.
  for (let turn = 0; turn < 3000; turn++) {
    outbox.enqueue(large(sent++));
    outbox.enqueue(large(sent++));
    await writer.complete();
  }
  while (writer.waiting > 0) await writer.complete();
  await outbox.drained();
  assert.equal(writer.writes.length, sent);
  writer.writes.forEach((bytes, i) => assert.equal(bytes[0], i % 251, `write ${i} in order`));
});

Deno.test("Outbox finishes partial writes in order", async () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {} });
  outbox.enqueue(bytes(1, 2, 3, 4, 5));
  await writer.complete(2);
  assert.deepEqual([...writer.writes[1]!], [3, 4, 5]);
  outbox.enqueue(bytes(6));
  await writer.complete(1);
  await writer.complete();
  assert.deepEqual([...writer.writes[3]!], [6]);
  await writer.complete();
  await outbox.drained();
});

Deno.test("Outbox reports an overflow once, never synchronously, and refuses more", async () => {
  const writer = new ManualWriter();
  const failures: OutboxFailure[] = [];
  const outbox = new Outbox(writer, {
    maxQueuedBytes: 10,
    onFailure: (failure) => failures.push(failure),
  });
  outbox.enqueue(new Uint8Array(8)); // Handed to the write at once: no longer queued.
  assert.equal(outbox.queuedBytes, 0);
  assert.equal(outbox.enqueue(new Uint8Array(6)), true);
  assert.equal(outbox.enqueue(new Uint8Array(4)), true, "exactly the bound is fine");
  assert.equal(outbox.enqueue(new Uint8Array(1)), false);
  assert.deepEqual(failures, [], "not reported synchronously");
  await tick();
  assert.deepEqual(failures, ["overflow"]);
  assert.equal(outbox.enqueue(new Uint8Array(1)), false);
  assert.equal(outbox.queuedBytes, 0, "the queue is dropped");
  await outbox.drained();
  await writer.complete();
  await tick();
  assert.deepEqual(failures, ["overflow"]);
  assert.equal(writer.writes.length, 1, "nothing more is written");
});

Deno.test("Outbox reports a failed write with its error", async () => {
  const writer = new ManualWriter();
  const failures: [OutboxFailure, unknown][] = [];
  const outbox = new Outbox(writer, {
    maxQueuedBytes: 100,
    onFailure: (failure, error) => failures.push([failure, error]),
  });
  outbox.enqueue(bytes(1));
  outbox.enqueue(bytes(2));
  const error = new Deno.errors.BrokenPipe("gone");
  await writer.fail(error);
  await tick();
  assert.deepEqual(failures, [["write_error", error]]);
  assert.equal(outbox.busy, false);
  assert.equal(outbox.enqueue(bytes(3)), false);
});

Deno.test("Outbox reports a write that throws at once (a closed socket) as a failure, not a throw", async () => {
  const error = new Deno.errors.BadResource("closed");
  const failures: [OutboxFailure, unknown][] = [];
  const outbox = new Outbox({
    write: () => {
      throw error;
    },
  }, { maxQueuedBytes: 100, onFailure: (failure, cause) => failures.push([failure, cause]) });
  assert.equal(outbox.enqueue(bytes(1)), true, "queued; the failure comes later");
  assert.deepEqual(failures, [], "never reported synchronously");
  await tick();
  assert.deepEqual(failures, [["write_error", error]]);
  assert.equal(outbox.busy, false);
  await outbox.drained();
});

Deno.test("Outbox.stalledFor measures time without progress of the write under way", async () => {
  let now = 1000;
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {}, now: () => now });
  assert.equal(outbox.stalledFor(5000), 0, "idle is never stalled");
  outbox.enqueue(bytes(1, 2, 3, 4));
  now = 1500;
  assert.equal(outbox.stalledFor(now), 500);
  await writer.complete(1);
  assert.equal(outbox.stalledFor(now), 0, "progress resets the clock");
  assert.equal(outbox.stalledFor(now + 300), 300);
  await writer.complete();
  assert.equal(outbox.stalledFor(now + 10_000), 0);
});

Deno.test("Outbox.close drops the queue, settles drained() and refuses more", async () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {} });
  outbox.enqueue(bytes(1));
  outbox.enqueue(bytes(2));
  let drained = false;
  const waiting = outbox.drained().then(() => drained = true);
  await tick();
  assert.equal(drained, false);
  outbox.close();
  await waiting;
  assert.equal(outbox.queuedBytes, 0);
  assert.equal(outbox.enqueue(bytes(3)), false);
  await writer.complete();
  assert.equal(writer.writes.length, 1, "the queued bytes were never written");
});

Deno.test("Outbox ignores empty buffers", () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {} });
  assert.equal(outbox.enqueue(new Uint8Array(0)), true);
  assert.equal(writer.waiting, 0);
  assert.equal(outbox.busy, false);
});

Deno.test("Outbox in separate-writes mode writes each buffer on its own, a gap apart", async () => {
  const writes: { bytes: number[]; at: number }[] = [];
  const outbox = new Outbox({
    write: (b) => {
      writes.push({ bytes: [...b], at: performance.now() });
      return Promise.resolve(b.length);
    },
  }, { maxQueuedBytes: 100, onFailure: () => {} });
  outbox.separateWrites(20);
  outbox.enqueue(bytes(1));
  outbox.enqueue(bytes(2, 3));
  outbox.enqueue(bytes(4));
  await outbox.drained();
  assert.deepEqual(writes.map((w) => w.bytes), [[1], [2, 3], [4]], "never joined");
  for (let i = 1; i < writes.length; i++) {
    const gap = writes[i]!.at - writes[i - 1]!.at;
    assert.ok(gap >= 19, `write ${i} came ${gap} ms after the one before`);
  }
});

Deno.test("Outbox compact keeps what is queued and gives back only an empty queue", async () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {} });
  outbox.enqueue(bytes(1));
  outbox.enqueue(bytes(2));
  outbox.enqueue(bytes(3));
  outbox.compact();
  await writer.complete();
  assert.deepEqual([...writer.writes[1]!], [2, 3], "what waited during the compact is sent");
  await writer.complete();
  await outbox.drained();
  outbox.compact();
  outbox.enqueue(bytes(4));
  outbox.enqueue(bytes(5));
  await writer.complete();
  await writer.complete();
  await outbox.drained();
  assert.deepEqual(writer.writes.map((w) => [...w]), [[1], [2, 3], [4], [5]]);
});

Deno.test("Outbox.disposable only while it holds nothing a new outbox would not", async () => {
  const writer = new ManualWriter();
  const outbox = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {} });
  assert.equal(outbox.disposable, true, "new");
  outbox.enqueue(bytes(1));
  assert.equal(outbox.disposable, false, "a write under way");
  await writer.complete();
  await outbox.drained();
  assert.equal(outbox.disposable, true, "drained");
  outbox.separateWrites(10);
  assert.equal(outbox.disposable, false, "writes kept apart");
  const failed = new Outbox(writer, { maxQueuedBytes: 1, onFailure: () => {} });
  failed.enqueue(bytes(1, 2));
  assert.equal(failed.disposable, false, "failed");
  const closed = new Outbox(writer, { maxQueuedBytes: 100, onFailure: () => {} });
  closed.close();
  assert.equal(closed.disposable, false, "closed");
  await tick();
});
