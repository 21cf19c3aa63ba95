import assert from "node:assert/strict";
import { type Key, KeyDecoder } from "./keys.ts";

const key = (name: string): Key => ({ type: "key", name } as Key);

Deno.test("KeyDecoder groups typed text and names control keys", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.push("ab\x01\x05\x15\x17\x0b\x7f\x08\t\r\x03\x04"), [
    { type: "text", text: "ab" },
    key("home"),
    key("end"),
    key("killToStart"),
    key("deleteWordBack"),
    key("killToEnd"),
    key("backspace"),
    key("backspace"),
    key("tab"),
    key("enter"),
    key("interrupt"),
    key("eof"),
  ]);
  assert.deepEqual(decoder.pending, false);
});

Deno.test("KeyDecoder reads CSI, SS3 and Alt sequences", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(
    decoder.push("\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F\x1bOH\x1bOF\x1b[3~\x1b[1~\x1b[4~"),
    [
      key("up"),
      key("down"),
      key("right"),
      key("left"),
      key("home"),
      key("end"),
      key("home"),
      key("end"),
      key("delete"),
      key("home"),
      key("end"),
    ],
  );
  assert.deepEqual(decoder.push("\x1b[1;5D\x1b[1;3C\x1bb\x1bf\x1bd\x1b\x7f"), [
    key("wordLeft"),
    key("wordRight"),
    key("wordLeft"),
    key("wordRight"),
    key("deleteWordForward"),
    key("deleteWordBack"),
  ]);
  // Unknown sequences vanish without leaving bytes behind.
  assert.deepEqual(decoder.push("\x1b[15~\x1b[99Zx\x1bz"), [{ type: "text", text: "x" }]);
});

Deno.test("KeyDecoder holds a sequence split across chunks", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.push("a\x1b"), [{ type: "text", text: "a" }]);
  assert.deepEqual(decoder.pending, true);
  assert.deepEqual(decoder.push("["), []);
  assert.deepEqual(decoder.push("1;5"), []);
  assert.deepEqual(decoder.push("Cb"), [key("wordRight"), { type: "text", text: "b" }]);
  assert.deepEqual(decoder.pending, false);
});

Deno.test("KeyDecoder flush turns a lone ESC into the Escape key", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.push("\x1b"), []);
  assert.deepEqual(decoder.flush(), [key("escape")]);
  assert.deepEqual(decoder.pending, false);
  assert.deepEqual(decoder.push("x"), [{ type: "text", text: "x" }]);
});

Deno.test("KeyDecoder returns a bracketed paste as one key, even split anywhere", () => {
  const input = "x\x1b[200~line one\r\nline \x1b[31mtwo\nthree\n\x1b[201~y";
  for (let cut = 0; cut <= input.length; cut++) {
    const decoder = new KeyDecoder();
    const keys = [...decoder.push(input.slice(0, cut)), ...decoder.push(input.slice(cut))];
    const merged: Key[] = [];
    for (const k of keys) {
      const last = merged[merged.length - 1];
      if (k.type === "text" && last?.type === "text") {
        merged[merged.length - 1] = { type: "text", text: last.text + k.text };
      } else merged.push(k);
    }
    assert.deepEqual(merged, [
      { type: "text", text: "x" },
      { type: "paste", text: "line one\nline \x1b[31mtwo\nthree" },
      { type: "text", text: "y" },
    ], `cut at ${cut}`);
  }
});

Deno.test("KeyDecoder keeps an unfinished paste waiting, even through flush", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.push("\x1b[200~abc"), []);
  assert.deepEqual(decoder.inPaste, true);
  assert.deepEqual(decoder.flush(), []);
  assert.deepEqual(decoder.push("\r\x1b[201~"), [{ type: "paste", text: "abc" }]);
});

Deno.test("KeyDecoder passes multi-byte text and drops C1 controls", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.push("日本\u009b😀"), [{ type: "text", text: "日本😀" }]);
});
