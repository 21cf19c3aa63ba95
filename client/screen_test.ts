import assert from "node:assert/strict";
import { layoutInput, Screen } from "./screen.ts";
import { graphemes } from "./width.ts";

Deno.test("layoutInput shows a short line whole with the cursor where it is", () => {
  assert.deepEqual(layoutInput(graphemes("hello"), 2, 0, 20), {
    text: "hello",
    cursorColumn: 2,
    scroll: 0,
  });
});

Deno.test("layoutInput scrolls sideways to keep the cursor in view", () => {
  const chars = graphemes("abcdefghijklmnopqrstuvwxyz");
  const atEnd = layoutInput(chars, 26, 0, 10);
  assert.deepEqual(atEnd, { text: "rstuvwxyz", cursorColumn: 9, scroll: 17 });
  // Moving left inside the view does not move the view.
  const inView = layoutInput(chars, 20, atEnd.scroll, 10);
  assert.equal(inView.scroll, 17);
  assert.equal(inView.cursorColumn, 3);
  // Moving left of the view moves it.
  const home = layoutInput(chars, 0, inView.scroll, 10);
  assert.deepEqual(home, { text: "abcdefghij", cursorColumn: 0, scroll: 0 });
});

Deno.test("layoutInput counts wide characters as two columns and never splits one", () => {
  const chars = graphemes("日本語テキスト");
  const view = layoutInput(chars, 7, 0, 9);
  assert.equal(view.cursorColumn, 8);
  assert.equal(view.text, "テキスト");
  const start = layoutInput(chars, 0, 0, 9);
  assert.equal(start.text, "日本語テ");
});

Deno.test("layoutInput shows line breaks and tabs as one visible column", () => {
  assert.deepEqual(layoutInput(graphemes("a\nb\tc"), 5, 0, 20).text, "a↵b c");
});

Deno.test("Screen prints above the input line and puts the input back intact", () => {
  const screen = new Screen(40);
  screen.setPrompt("\x1b[1malice\x1b[22m> ");
  const out = screen.print(["one", "two"], true, graphemes("half a li"), 9);
  assert.equal(
    out,
    "\r\x1b[Jone\r\ntwo\r\n\x07\x1b[1malice\x1b[22m> half a li\r\x1b[16C",
  );
  assert.equal(screen.inputLine([], 0), "\r\x1b[J\x1b[1malice\x1b[22m> \r\x1b[7C");
  assert.equal(screen.finish(["bye"]), "\r\x1b[Jbye\r\n");
});

Deno.test("Screen keeps the input within the width so the line never wraps", () => {
  const screen = new Screen(12);
  screen.setPrompt("me> ");
  const out = screen.inputLine(graphemes("0123456789abcdef"), 16);
  assert.equal(out, "\r\x1b[Jme> abcdef\r\x1b[10C");
  screen.setColumns(3);
  // The 10-column line, cursor at its end, re-flowed into 3-column rows: start 3 rows up.
  assert.equal(screen.inputLine(graphemes("xyz"), 3), "\r\x1b[3A\x1b[Jz\r\x1b[1C");
});

Deno.test("layoutInput fills the view from the left when the line got shorter", () => {
  const chars = graphemes("abcdef");
  // A stale scroll from a longer line would show nothing before the cursor.
  assert.deepEqual(layoutInput(chars, 6, 6, 4), { text: "def", cursorColumn: 3, scroll: 3 });
});

Deno.test("Screen draws a status row above the input and clears both before the next drawing", () => {
  const screen = new Screen(30);
  screen.setPrompt("me> ");
  screen.setStatus("3 lines waiting");
  assert.equal(screen.inputLine(graphemes("hi"), 2), "\r\x1b[J3 lines waiting\r\nme> hi\r\x1b[6C");
  screen.setStatus("");
  assert.equal(screen.print(["one"], false, [], 0), "\r\x1b[1A\x1b[Jone\r\nme> \r\x1b[4C");
  // A status longer than the row is cut, its colour turned off.
  screen.setStatus(`\x1b[31m${"x".repeat(40)}\x1b[39m`);
  assert.equal(
    screen.inputLine([], 0),
    `\r\x1b[J\x1b[31m${"x".repeat(29)}\x1b[0m\r\nme> \r\x1b[4C`,
  );
});

Deno.test("Screen after narrowing starts from the first row the re-flowed drawing takes", () => {
  const screen = new Screen(100);
  screen.setPrompt("alice> ");
  const draft = graphemes("d".repeat(65));
  screen.inputLine(draft, 65);
  screen.setColumns(60);
  // 72 columns with the cursor at the end now take two rows: go up one, erase, draw.
  assert.ok(screen.inputLine(draft, 65).startsWith("\r\x1b[1A\x1b[J"));
  screen.setStatus("offline");
  screen.inputLine(draft, 65);
  screen.setColumns(40);
  // The status row (1) and the 59-column input row with the cursor at its end (2 rows).
  assert.ok(screen.inputLine(draft, 65).startsWith("\r\x1b[2A\x1b[J"));
  screen.setColumns(100);
  assert.ok(screen.inputLine(draft, 65).startsWith("\r\x1b[1A\x1b[J"), "growing re-flows nothing");
});
