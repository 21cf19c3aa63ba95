import assert from "node:assert/strict";
import type { Key, KeyName } from "./keys.ts";
import { LineEditor } from "./line_editor.ts";

const k = (name: KeyName): Key => ({ type: "key", name });
const t = (text: string): Key => ({ type: "text", text });

function typed(editor: LineEditor, ...keys: (Key | string)[]): void {
  for (const key of keys) editor.handle(typeof key === "string" ? t(key) : key);
}

Deno.test("LineEditor inserts at the cursor and moves by characters", () => {
  const editor = new LineEditor();
  typed(editor, "helo", k("left"), "l", k("home"), ">", k("end"), "!");
  assert.equal(editor.text, ">hello!");
  assert.equal(editor.cursor, 7);
  typed(editor, k("left"), k("left"), k("backspace"), k("delete"));
  assert.equal(editor.text, ">hel!");
  assert.equal(editor.cursor, 4);
  typed(editor, k("home"), k("backspace"), k("left"));
  assert.equal(editor.cursor, 0);
  typed(editor, k("end"), k("delete"), k("right"));
  assert.equal(editor.cursor, 5);
});

Deno.test("LineEditor treats a multi-byte cluster as one character", () => {
  const editor = new LineEditor();
  typed(editor, "a日👍🏽e", "\u0301");
  assert.deepEqual(editor.chars, ["a", "日", "👍🏽", "e\u0301"]);
  typed(editor, k("left"), k("backspace"));
  assert.equal(editor.text, "a日e\u0301");
  assert.equal(editor.cursor, 2);
});

Deno.test("LineEditor word and kill commands", () => {
  const editor = new LineEditor();
  typed(editor, "one two  three");
  typed(editor, k("deleteWordBack"));
  assert.equal(editor.text, "one two  ");
  typed(editor, k("wordLeft"));
  assert.equal(editor.cursor, 4);
  typed(editor, k("deleteWordForward"));
  assert.equal(editor.text, "one   ");
  typed(editor, k("home"), k("wordRight"));
  assert.equal(editor.cursor, 3);
  typed(editor, k("killToEnd"));
  assert.equal(editor.text, "one");
  typed(editor, k("left"), k("killToStart"));
  assert.equal(editor.text, "e");
  assert.equal(editor.cursor, 0);
});

Deno.test("LineEditor submits and clears; Ctrl-L redraws", () => {
  const editor = new LineEditor();
  typed(editor, "hi");
  assert.deepEqual(editor.handle(k("enter")), { type: "submit", text: "hi" });
  assert.equal(editor.text, "");
  assert.deepEqual(editor.handle(k("redraw")), { type: "redraw" });
});

Deno.test("LineEditor Ctrl-D deletes under the cursor and Ctrl-C clears, as in readline", () => {
  const editor = new LineEditor();
  typed(editor, "half", k("home"));
  assert.deepEqual(editor.handle(k("eof")), { type: "none" });
  assert.equal(editor.text, "alf");
  typed(editor, k("end"));
  assert.deepEqual(editor.handle(k("eof")), { type: "none" }, "at the end of a line: nothing");
  assert.equal(editor.text, "alf");
  assert.deepEqual(editor.handle(k("interrupt")), { type: "none" });
  assert.equal(editor.text, "");
  assert.equal(editor.cursor, 0);
  assert.deepEqual(editor.handle(k("interrupt")), { type: "quit" }, "Ctrl-C on an empty line");
  assert.deepEqual(editor.handle(k("eof")), { type: "quit" }, "Ctrl-D on an empty line");
});

Deno.test("LineEditor keeps a pasted block whole, newlines and all, and sanitises it", () => {
  const editor = new LineEditor();
  editor.handle({ type: "paste", text: "line one\n\x1b[31mline two\x07" });
  assert.equal(editor.text, "line one\nline two\uFFFD");
  assert.deepEqual(editor.handle(k("enter")), {
    type: "submit",
    text: "line one\nline two\uFFFD",
  });
});

Deno.test("LineEditor drops control characters from typed text", () => {
  const editor = new LineEditor();
  typed(editor, "a\x1bb\u009bc");
  assert.equal(editor.text, "abc");
});

Deno.test("LineEditor walks the history and keeps the draft", () => {
  const editor = new LineEditor({ historyLimit: 3 });
  for (const line of ["one", "two", "two", "  ", "three", "four"]) {
    typed(editor, line, k("enter"));
  }
  assert.deepEqual(editor.history, ["two", "three", "four"]);
  typed(editor, "draft");
  typed(editor, k("up"));
  assert.equal(editor.text, "four");
  typed(editor, k("up"), k("up"));
  assert.equal(editor.text, "two");
  assert.deepEqual(editor.handle(k("up")), { type: "bell" });
  typed(editor, k("down"));
  assert.equal(editor.text, "three");
  typed(editor, k("down"), k("down"));
  assert.equal(editor.text, "draft");
  assert.deepEqual(editor.handle(k("down")), { type: "bell" });
});

Deno.test("LineEditor completes with Tab and cycles through candidates", () => {
  const asked: [string, string][] = [];
  const editor = new LineEditor({
    complete: (before, word) => {
      asked.push([before, word]);
      return word === "b" ? ["bob ", "bea "] : [];
    },
  });
  typed(editor, "hi b");
  typed(editor, k("tab"));
  assert.equal(editor.text, "hi bob ");
  assert.deepEqual(asked, [["hi ", "b"]]);
  typed(editor, k("tab"));
  assert.equal(editor.text, "hi bea ");
  typed(editor, k("tab"));
  assert.equal(editor.text, "hi bob ");
  typed(editor, "x");
  assert.equal(editor.text, "hi bob x");
  assert.deepEqual(editor.handle(k("tab")), { type: "bell" });
});

Deno.test("LineEditor without a completer rings the bell on Tab", () => {
  const editor = new LineEditor();
  assert.deepEqual(editor.handle(k("tab")), { type: "bell" });
});

Deno.test("LineEditor setText replaces the line and puts the cursor at its end", () => {
  const editor = new LineEditor();
  typed(editor, "abc", k("home"));
  editor.setText("xy");
  assert.equal(editor.text, "xy");
  assert.equal(editor.cursor, 2);
});
