import assert from "node:assert/strict";
import { FramingError } from "./errors.ts";
import { LineParser } from "./line_parser.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

function parseLines(
  chunks: Uint8Array[],
  maxLineBytes = 64,
): { lines: string[]; error: string | null } {
  const lines: string[] = [];
  const parser = new LineParser((line) => lines.push(text.decode(line)), { maxLineBytes });
  try {
    for (const chunk of chunks) parser.push(chunk);
    parser.flush();
    return { lines, error: null };
  } catch (error) {
    assert.ok(error instanceof FramingError);
    return { lines, error: error.code };
  }
}

Deno.test("LineParser splits lines identically at every split position", () => {
  const input = utf8.encode("alice\r\nhello wörld\n\nlast ✓\r\n");
  for (let split = 0; split <= input.length; split++) {
    const { lines, error } = parseLines([input.subarray(0, split), input.subarray(split)]);
    assert.equal(error, null);
    assert.deepEqual(lines, ["alice", "hello wörld", "", "last ✓"], `split at ${split}`);
  }
});

Deno.test("LineParser drops only a CR right before the LF", () => {
  const { lines } = parseLines([utf8.encode("a\rb\r\n\r\r\n")]);
  assert.deepEqual(lines, ["a\rb", "\r"]);
});

Deno.test("LineParser delivers a last line without an ending at flush", () => {
  assert.deepEqual(parseLines([utf8.encode("one\ntwo")]).lines, ["one", "two"]);
});

Deno.test("LineParser refuses a line over the cap, whole or byte by byte, without buffering it", () => {
  const long = utf8.encode("x".repeat(65) + "\n");
  assert.equal(parseLines([long]).error, "too_large");
  assert.equal(parseLines(Array.from(long, (b) => new Uint8Array([b]))).error, "too_large");
  const parser = new LineParser(() => {}, { maxLineBytes: 64 });
  assert.throws(() => {
    for (let i = 0; i < 1000; i++) parser.push(utf8.encode("y"));
  }, FramingError);
  assert.equal(parser.bufferedBytes, 0);
  assert.equal(
    parseLines([utf8.encode("x".repeat(64) + "\r\n")]).error,
    null,
    "the cap itself fits",
  );
});

Deno.test("LineParser gathers a long line fed byte by byte in linear time", () => {
  const size = 1_000_000;
  const lines: number[] = [];
  const parser = new LineParser((line) => lines.push(line.length), { maxLineBytes: size });
  const one = utf8.encode("z");
  const started = performance.now();
  for (let i = 0; i < size; i++) parser.push(one);
  parser.push(utf8.encode("\n"));
  assert.deepEqual(lines, [size]);
  // Quadratic copying would take minutes here; linear takes well under a second.
  assert.ok(performance.now() - started < 5000);
});
