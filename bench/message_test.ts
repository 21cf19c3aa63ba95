import assert from "node:assert/strict";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import {
  BENCH_TEXT_BYTES,
  type BenchStamp,
  MAX_SENDER,
  MAX_SENT_US,
  MAX_SEQ,
  readBenchText,
  SAY_FRAME_BYTES,
  writeBenchText,
  writeSayFrame,
} from "./message.ts";

function stamp(): BenchStamp {
  return { sender: -1, seq: -1, sentUs: -1 };
}

Deno.test("writeBenchText writes 64 printable ASCII bytes that JSON leaves unchanged", () => {
  const bytes = new Uint8Array(BENCH_TEXT_BYTES);
  writeBenchText(bytes, 0, { sender: 12, seq: 345, sentUs: 6_789_012.6 });
  const text = new TextDecoder().decode(bytes);
  assert.equal(text.length, 64);
  assert.match(text, /^#b00012\.0000000345\.0000006789013\.([a-z])\1{29}\$$/);
  assert.equal(JSON.stringify(text), `"${text}"`);
});

Deno.test("readBenchText reads back what writeBenchText wrote, at any offset", () => {
  const bytes = new Uint8Array(100);
  for (
    const input of [
      { sender: 0, seq: 0, sentUs: 0 },
      { sender: MAX_SENDER, seq: MAX_SEQ, sentUs: MAX_SENT_US },
      { sender: 4, seq: 1_000_003, sentUs: 1_700_000_000_123 },
    ]
  ) {
    writeBenchText(bytes, 17, input);
    const out = stamp();
    assert.ok(readBenchText(bytes, 17, 17 + 64, out));
    assert.deepEqual(out, input);
  }
});

Deno.test("readBenchText refuses a text with any single byte changed", () => {
  const bytes = new Uint8Array(BENCH_TEXT_BYTES);
  writeBenchText(bytes, 0, { sender: 3, seq: 9, sentUs: 1000 });
  assert.ok(readBenchText(bytes, 0, BENCH_TEXT_BYTES, stamp()));
  for (let i = 0; i < BENCH_TEXT_BYTES; i++) {
    const damaged = bytes.slice();
    damaged[i] = damaged[i] === 0x7a ? 0x79 : 0x7a;
    assert.equal(readBenchText(damaged, 0, BENCH_TEXT_BYTES, stamp()), false, `byte ${i}`);
  }
});

Deno.test("readBenchText refuses a text whose sender or sequence digits were changed", () => {
  const bytes = new Uint8Array(BENCH_TEXT_BYTES);
  writeBenchText(bytes, 0, { sender: 3, seq: 9, sentUs: 1000 });
  // Sender digits are bytes 2..6, sequence digits 8..17: the padding letter depends on both.
  for (const i of [2, 3, 4, 5, 6, 8, 9, 12, 16, 17]) {
    for (let digit = 0x30; digit <= 0x39; digit++) {
      if (digit === bytes[i]) continue;
      const damaged = bytes.slice();
      damaged[i] = digit;
      assert.equal(readBenchText(damaged, 0, BENCH_TEXT_BYTES, stamp()), false, `byte ${i}`);
    }
  }
});

Deno.test("readBenchText refuses a text of the wrong length or outside the bytes", () => {
  const bytes = new Uint8Array(BENCH_TEXT_BYTES + 1);
  writeBenchText(bytes, 0, { sender: 1, seq: 1, sentUs: 1 });
  assert.equal(readBenchText(bytes, 0, 63, stamp()), false);
  assert.equal(readBenchText(bytes, 0, 65, stamp()), false);
  assert.equal(readBenchText(bytes, 1, 65, stamp()), false);
  assert.equal(readBenchText(bytes.subarray(0, 40), 0, 64, stamp()), false);
});

Deno.test("writeBenchText refuses fields that do not fit", () => {
  const bytes = new Uint8Array(BENCH_TEXT_BYTES);
  assert.throws(
    () => writeBenchText(bytes, 0, { sender: MAX_SENDER + 1, seq: 0, sentUs: 0 }),
    RangeError,
  );
  assert.throws(() => writeBenchText(bytes, 0, { sender: 0, seq: -1, sentUs: 0 }), RangeError);
  assert.throws(() => writeBenchText(bytes, 0, { sender: 0, seq: 0, sentUs: NaN }), RangeError);
  assert.throws(
    () => writeBenchText(bytes, 0, { sender: 0, seq: 0, sentUs: MAX_SENT_US + 1 }),
    RangeError,
  );
});

Deno.test("writeSayFrame writes a frame64 say event that the frame parser and JSON accept", () => {
  const frames = new Uint8Array(SAY_FRAME_BYTES * 2);
  writeSayFrame(frames, 0, { sender: 2, seq: 7, sentUs: 99 });
  writeSayFrame(frames, SAY_FRAME_BYTES, { sender: 2, seq: 8, sentUs: 100 });
  const bodies: unknown[] = [];
  const parser = new Frame64Parser(
    (body) => bodies.push(JSON.parse(new TextDecoder().decode(body))),
    {
      maxBodyBytes: 4096,
    },
  );
  parser.push(frames);
  assert.equal(bodies.length, 2);
  const [first] = bodies as { type: string; text: string }[];
  assert.equal(first!.type, "say");
  const out = stamp();
  assert.ok(readBenchText(new TextEncoder().encode(first!.text), 0, 64, out));
  assert.deepEqual(out, { sender: 2, seq: 7, sentUs: 99 });
});
