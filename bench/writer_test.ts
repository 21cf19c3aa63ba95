import assert from "node:assert/strict";
import { type ByteSink, CoalescingWriter } from "./writer.ts";

/** A sink that records every write, takes at most `limit` bytes per write, and can be held. */
class RecordingSink implements ByteSink {
  readonly writes: Uint8Array[] = [];
  #limit: number;
  #gate: Promise<void> = Promise.resolve();
  #release: () => void = () => {};
  fail: Error | null = null;

  constructor(limit = Infinity) {
    this.#limit = limit;
  }

  hold(): void {
    this.#gate = new Promise((resolve) => this.#release = resolve);
  }

  release(): void {
    this.#release();
  }

  async write(bytes: Uint8Array): Promise<number> {
    await this.#gate;
    if (this.fail) throw this.fail;
    const taken = bytes.slice(0, Math.min(bytes.length, this.#limit));
    this.writes.push(taken);
    return taken.length;
  }

  get bytes(): number[] {
    return this.writes.flatMap((write) => [...write]);
  }
}

function unexpected(error: unknown): never {
  throw error;
}

Deno.test("CoalescingWriter sends bytes queued in one turn in one write, in order", async () => {
  const sink = new RecordingSink();
  const writer = new CoalescingWriter(sink, unexpected, 4);
  writer.append(Uint8Array.of(1, 2, 3));
  const at = writer.reserve(3);
  writer.buffer.set([4, 5, 6], at);
  writer.append(Uint8Array.of(7));
  assert.equal(writer.queuedBytes, 7);
  await writer.idle();
  assert.equal(sink.writes.length, 1);
  assert.deepEqual(sink.bytes, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(writer.queuedBytes, 0);
});

Deno.test("CoalescingWriter gathers what is queued during a pending write into the next one", async () => {
  const sink = new RecordingSink();
  const writer = new CoalescingWriter(sink, unexpected, 2);
  sink.hold();
  writer.append(Uint8Array.of(1));
  await Promise.resolve();
  await Promise.resolve();
  for (let i = 2; i <= 6; i++) writer.append(Uint8Array.of(i));
  assert.equal(writer.queuedBytes, 6);
  sink.release();
  await writer.idle();
  assert.deepEqual(sink.writes.map((write) => [...write]), [[1], [2, 3, 4, 5, 6]]);
});

Deno.test("CoalescingWriter finishes partial writes", async () => {
  const sink = new RecordingSink(3);
  const writer = new CoalescingWriter(sink, unexpected);
  const bytes = Uint8Array.from({ length: 10 }, (_, i) => i);
  writer.append(bytes);
  await writer.idle();
  assert.deepEqual(sink.writes.map((write) => write.length), [3, 3, 3, 1]);
  assert.deepEqual(sink.bytes, [...bytes]);
});

Deno.test("CoalescingWriter reports a failed write once and closes", async () => {
  const sink = new RecordingSink();
  sink.fail = new Error("Connection reset");
  const errors: unknown[] = [];
  const writer = new CoalescingWriter(sink, (error) => errors.push(error));
  writer.append(Uint8Array.of(1));
  await writer.idle();
  writer.append(Uint8Array.of(2));
  await writer.idle();
  assert.equal(errors.length, 1);
  assert.equal(writer.closed, true);
  assert.equal(writer.queuedBytes, 1);
});

Deno.test("CoalescingWriter close drops what is queued", async () => {
  const sink = new RecordingSink();
  const writer = new CoalescingWriter(sink, unexpected);
  writer.append(Uint8Array.of(1, 2));
  writer.close();
  await writer.idle();
  assert.equal(sink.writes.length, 0);
  assert.equal(writer.closed, true);
});
