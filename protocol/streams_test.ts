import assert from "node:assert/strict";
import { FramingError } from "./errors.ts";
import {
  encodeFrame,
  encodeTextFrame,
  HEADER_BYTES,
  KEEPALIVE_FRAME,
  writeHeader,
} from "./frame64.ts";
import { Frame64DecoderStream } from "./streams.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

Deno.test("Frame64DecoderStream hands on the bodies each chunk completes, as one batch", async () => {
  const bodies = ["hello", "ünïcödé 😀", "x".repeat(5000)];
  const frames = bodies.map((body) => encodeTextFrame(body));
  const all = new Uint8Array([...frames[0]!, ...KEEPALIVE_FRAME, ...frames[1]!, ...frames[2]!]);
  const cut = frames[0]!.length + KEEPALIVE_FRAME.length + frames[1]!.length + 10;
  const batches = await Array.fromAsync(
    ReadableStream.from([all.subarray(0, 5), all.subarray(5, cut), all.subarray(cut)])
      .pipeThrough(new Frame64DecoderStream({ maxBodyBytes: 8192 })),
  );
  assert.deepEqual(batches.map((batch) => batch.map((b) => text.decode(b))), [
    [bodies[0], bodies[1]],
    [bodies[2]],
  ], "nothing for the first chunk, two bodies for the second, the keepalive skipped");
});

Deno.test("Frame64DecoderStream keeps bodies intact after later chunks reuse the buffer", async () => {
  const chunk = new Uint8Array([
    ...encodeFrame(utf8.encode("one")),
    ...encodeFrame(utf8.encode("two")),
  ]);
  const batches = await Array.fromAsync(
    ReadableStream.from([chunk]).pipeThrough(new Frame64DecoderStream({ maxBodyBytes: 10 })),
  );
  chunk.fill(0);
  assert.deepEqual(batches.flat().map((b) => text.decode(b)), ["one", "two"]);
});

Deno.test("Frame64DecoderStream errors with a FramingError on a bad header", async () => {
  const stream = ReadableStream.from([utf8.encode("1e3".padEnd(64, " "))])
    .pipeThrough(new Frame64DecoderStream({ maxBodyBytes: 10 }));
  await assert.rejects(Array.fromAsync(stream), (error: unknown) => {
    assert.ok(error instanceof FramingError);
    assert.equal(error.code, "bad_frame");
    return true;
  });
});

Deno.test("encodeTextFrame writes the UTF-8 byte length, digits then spaces", () => {
  const frame = encodeTextFrame("é😀");
  assert.equal(text.decode(frame.subarray(0, HEADER_BYTES)), "6".padEnd(64, " "));
  assert.equal(text.decode(frame.subarray(HEADER_BYTES)), "é😀");
  const big = encodeTextFrame("a".repeat(100_000));
  assert.equal(text.decode(big.subarray(0, 6)), "100000");
});

Deno.test("writeHeader rejects lengths that cannot be a header", () => {
  const target = new Uint8Array(64);
  assert.throws(() => writeHeader(-1, target, 0), RangeError);
  assert.throws(() => writeHeader(1.5, target, 0), RangeError);
});
