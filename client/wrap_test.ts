import assert from "node:assert/strict";
import { visibleWidth } from "./width.ts";
import { wrapLine } from "./wrap.ts";

Deno.test("wrapLine leaves a line that fits alone", () => {
  assert.deepEqual(wrapLine("09:05 bob: hi", 40, 11), ["09:05 bob: hi"]);
  assert.deepEqual(wrapLine("x".repeat(40), 40, 11), ["x".repeat(40)]);
});

Deno.test("wrapLine breaks at spaces and hangs continuation rows under the text", () => {
  const line = "09:05 bob: the quick brown fox jumps over the lazy dog again and again";
  const rows = wrapLine(line, 30, 11);
  assert.deepEqual(rows, [
    "09:05 bob: the quick brown fox",
    "           jumps over the lazy",
    "           dog again and again",
  ]);
  for (const row of rows) assert.ok(visibleWidth(row) <= 30, row);
});

Deno.test("wrapLine breaks inside a word only when it is longer than a row", () => {
  const url = "https://example.org/" + "a".repeat(40);
  const rows = wrapLine(`09:05 bob: see ${url} ok`, 30, 11);
  assert.deepEqual(rows, [
    `09:05 bob: see ${url.slice(0, 15)}`,
    `           ${url.slice(15, 34)}`,
    `           ${url.slice(34, 53)}`,
    `           ${url.slice(53)} ok`,
  ]);
});

Deno.test("wrapLine counts wide characters and never splits a cluster", () => {
  assert.deepEqual(wrapLine("ab 日本語", 6, 0), ["ab", "日本語"]);
  // Longer than a row: filled row by row, a wide character never split over two.
  assert.deepEqual(wrapLine("ab 日本語日本語", 6, 0), ["ab 日", "本語日", "本語"]);
  assert.deepEqual(wrapLine("👍🏽👍🏽👍🏽", 5, 0), ["👍🏽👍🏽", "👍🏽"]);
});

Deno.test("wrapLine ends each row's colours and starts them again after the indent", () => {
  const red = "\x1b[31m";
  const off = "\x1b[39m";
  const rows = wrapLine(`-- ${red}one two three${off} four`, 10, 3);
  assert.deepEqual(rows, [
    `-- ${red}one two\x1b[0m`,
    `   ${red}three${off}\x1b[0m`,
    `   ${red}${off}four`,
  ]);
});

Deno.test("wrapLine drops a hanging indent that would leave too little room", () => {
  assert.deepEqual(wrapLine("09:05 bob: aaa bbb ccc", 12, 11), ["09:05 bob:", "aaa bbb ccc"]);
});
