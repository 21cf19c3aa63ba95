import assert from "node:assert/strict";
import { FramingError } from "./errors.ts";
import { encodeFrame, encodeTextFrame, HEADER_BYTES, writeHeader } from "./frame64.ts";
import { Frame64DecoderStream, Frame64EncoderStream, LineDecoderStream } from "./streams.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

Deno.test("Frame64EncoderStream and Frame64DecoderStream round-trip bytes and strings", async () => {
  const bodies = ["hello", "ünïcödé 😀", "x".repeat(5000)];
  const decoded = await Array.fromAsync(
    ReadableStream.from<Uint8Array | string>([bodies[0]!, utf8.encode(bodies[1]!), bodies[2]!])
      .pipeThrough(new Frame64EncoderStream())
      .pipeThrough(new Frame64DecoderStream({ maxBodyBytes: 8192 })),
  );
  assert.deepEqual(decoded.map((b) => text.decode(b)), bodies);
});

Deno.test("Frame64DecoderStream keeps bodies intact after later chunks reuse the buffer", async () => {
  const chunk = new Uint8Array([
    ...encodeFrame(utf8.encode("one")),
    ...encodeFrame(utf8.encode("two")),
  ]);
  const bodies = await Array.fromAsync(
    ReadableStream.from([chunk]).pipeThrough(new Frame64DecoderStream({ maxBodyBytes: 10 })),
  );
  chunk.fill(0);
  assert.deepEqual(bodies.map((b) => text.decode(b)), ["one", "two"]);
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

Deno.test("LineDecoderStream splits lines and refuses an over-long one", async () => {
  const lines = await Array.fromAsync(
    ReadableStream.from([utf8.encode("a\r\nb"), utf8.encode("c\nd")])
      .pipeThrough(new LineDecoderStream({ maxLineBytes: 8 })),
  );
  assert.deepEqual(lines.map((l) => text.decode(l)), ["a", "bc", "d"]);
  await assert.rejects(
    Array.fromAsync(
      ReadableStream.from([utf8.encode("123456789\n")])
        .pipeThrough(new LineDecoderStream({ maxLineBytes: 8 })),
    ),
    FramingError,
  );
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
