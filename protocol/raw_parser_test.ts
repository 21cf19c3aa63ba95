import assert from "node:assert/strict";
import { FramingError } from "./errors.ts";
import { incompleteUtf8Tail, RawParser } from "./raw_parser.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function collect(max = 100) {
  const bursts: string[] = [];
  const parser = new RawParser((burst) => bursts.push(decoder.decode(burst)), {
    maxBurstBytes: max,
  });
  return { bursts, parser };
}

Deno.test("RawParser gathers a burst from pieces and hands it over at the pause", () => {
  const { bursts, parser } = collect();
  for (const piece of ["he", "llo", " wor", "ld"]) parser.push(encoder.encode(piece));
  assert.equal(parser.bufferedBytes, 11);
  assert.deepEqual(bursts, []);
  assert.equal(parser.endBurst(), true);
  assert.deepEqual(bursts, ["hello world"]);
  assert.equal(parser.bufferedBytes, 0);
  assert.equal(parser.endBurst(), false, "an empty burst is no message");
});

Deno.test("RawParser keeps a burst open while it ends inside a UTF-8 character", () => {
  const text = encoder.encode("✓ é");
  // Cuts 1 and 2 fall inside ✓ (3 bytes), cut 5 inside é (2 bytes); 3 and 4 are boundaries.
  for (let cut = 1; cut < text.length; cut++) {
    const { bursts, parser } = collect();
    parser.push(text.subarray(0, cut));
    const ended = parser.endBurst();
    assert.equal(ended, cut === 3 || cut === 4, `cut at ${cut}`);
    parser.push(text.subarray(cut));
    parser.endBurst();
    assert.equal(bursts.join(""), "✓ é", `cut at ${cut}`);
    assert.equal(bursts.length, ended ? 2 : 1, `cut at ${cut}`);
  }
});

Deno.test("incompleteUtf8Tail finds only unfinished characters", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  assert.equal(incompleteUtf8Tail(bytes()), 0);
  assert.equal(incompleteUtf8Tail(bytes(0x61)), 0);
  assert.equal(incompleteUtf8Tail(bytes(0xe2, 0x9c)), 2);
  assert.equal(incompleteUtf8Tail(bytes(0xf0, 0x9f, 0x98)), 3);
  assert.equal(incompleteUtf8Tail(bytes(0xf0, 0x9f, 0x98, 0x80)), 0);
  assert.equal(incompleteUtf8Tail(bytes(0x80)), 0, "a stray continuation byte is for the decoder");
  assert.equal(incompleteUtf8Tail(bytes(0xff)), 0, "an invalid byte is for the decoder");
});

Deno.test("RawParser refuses a burst over the cap without keeping more than the cap", () => {
  const { parser } = collect(64);
  parser.push(new Uint8Array(60).fill(0x61));
  assert.throws(() => parser.push(new Uint8Array(10 * 1024 * 1024)), (error: unknown) => {
    assert.ok(error instanceof FramingError);
    assert.equal(error.code, "too_large");
    assert.match(error.message, /limit of 64 bytes/);
    return true;
  });
  assert.equal(parser.bufferedBytes, 0);
  assert.throws(() => parser.push(encoder.encode("x")), FramingError, "it stays failed");
});

Deno.test("RawParser hands over an unfinished burst at the end of input, and can give it up", () => {
  const { bursts, parser } = collect();
  parser.push(encoder.encode("bye"));
  parser.flush();
  assert.deepEqual(bursts, ["bye"]);
  parser.push(encoder.encode("ali"));
  assert.equal(decoder.decode(parser.take()), "ali");
  assert.equal(parser.bufferedBytes, 0);
});
