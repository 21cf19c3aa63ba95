import assert from "node:assert/strict";
import { readLines, toJsonLine } from "./lines.ts";

Deno.test("toJsonLine escapes what a terminal could act on and loses nothing", () => {
  const value = { text: "a\x1bb\u0085c\u009bd\u202ee\u2028f\x7fg\n", name: "日本" };
  const line = toJsonLine(value);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202e]/);
  assert.ok(line.includes("日本"), "ordinary text stays readable");
  assert.deepEqual(JSON.parse(line), value);
});

Deno.test("readLines splits on LF across chunk boundaries and multi-byte characters", async () => {
  const bytes = new TextEncoder().encode("héllo\r\nwörld\n\nlast");
  for (let cut = 0; cut <= bytes.length; cut++) {
    const chunks = [bytes.subarray(0, cut), bytes.subarray(cut)];
    const lines = await Array.fromAsync(readLines(ReadableStream.from(chunks)));
    assert.deepEqual(lines, ["héllo", "wörld", "", "last"], `cut at ${cut}`);
  }
});

Deno.test("readLines of empty input yields nothing", async () => {
  assert.deepEqual(await Array.fromAsync(readLines(ReadableStream.from([]))), []);
});
