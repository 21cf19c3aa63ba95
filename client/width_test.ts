import assert from "node:assert/strict";
import { graphemes, graphemeWidth, stringWidth, visibleWidth } from "./width.ts";

Deno.test("graphemes keeps a letter with its combining mark and an emoji sequence whole", () => {
  assert.deepEqual(graphemes("e\u0301x"), ["e\u0301", "x"]);
  assert.deepEqual(graphemes("👍🏽!"), ["👍🏽", "!"]);
  assert.deepEqual(graphemes("👩‍💻"), ["👩‍💻"]);
  assert.deepEqual(graphemes("ab"), ["a", "b"]);
  assert.deepEqual(graphemes(""), []);
});

Deno.test("graphemeWidth counts wide, narrow and zero-width clusters", () => {
  assert.deepEqual(graphemeWidth("a"), 1);
  assert.deepEqual(graphemeWidth("é"), 1);
  assert.deepEqual(graphemeWidth("e\u0301"), 1);
  assert.deepEqual(graphemeWidth("日"), 2);
  assert.deepEqual(graphemeWidth("한"), 2);
  assert.deepEqual(graphemeWidth("Ａ"), 2);
  assert.deepEqual(graphemeWidth("😀"), 2);
  assert.deepEqual(graphemeWidth("❤️"), 2);
  assert.deepEqual(graphemeWidth("\u0301"), 0);
  assert.deepEqual(graphemeWidth("\u200b"), 0);
  assert.deepEqual(graphemeWidth(""), 0);
});

Deno.test("stringWidth and visibleWidth sum the clusters and skip colour codes", () => {
  assert.deepEqual(stringWidth("hi 日本 😀"), 10);
  assert.deepEqual(visibleWidth("\x1b[1m\x1b[31malice\x1b[39m\x1b[22m> "), 7);
});
