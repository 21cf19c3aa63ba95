import assert from "node:assert/strict";
import { CATCH_UP_AT_ONCE, CATCH_UP_FRAMES, CatchUp } from "./catch_up.ts";
import type { Rendered } from "./render.ts";

function line(text: string): Rendered {
  return { lines: [text], bell: false, indent: 0 };
}

function texts(output: readonly Rendered[]): string[] {
  return output.flatMap((rendered) => rendered.lines);
}

Deno.test("CatchUp shows a short queue in one frame", () => {
  const catchUp = new CatchUp();
  for (let i = 1; i <= CATCH_UP_AT_ONCE; i++) catchUp.push(line(`m${i}`), true);
  assert.equal(catchUp.paced, false, "a screenful is no flood");
  assert.equal(texts(catchUp.take()).length, CATCH_UP_AT_ONCE);
  assert.equal(catchUp.active, false);
  assert.deepEqual(catchUp.take(), [], "nothing more");
});

Deno.test("CatchUp lets a long replay out over about CATCH_UP_FRAMES frames, in order, once each", () => {
  for (const total of [21, 300, 1000, 5000]) {
    const catchUp = new CatchUp();
    for (let i = 1; i <= total; i++) catchUp.push(line(`m${i}`), true);
    assert.equal(catchUp.paced, true);
    const shown: string[] = [];
    let frames = 0;
    while (catchUp.active && frames < 10_000) {
      const frame = texts(catchUp.take());
      assert.ok(frame.length > 0, "every frame moves");
      shown.push(...frame);
      frames++;
    }
    assert.deepEqual(shown, Array.from({ length: total }, (_, i) => `m${i + 1}`));
    assert.ok(frames <= CATCH_UP_FRAMES + 1, `${total} took ${frames} frames`);
    if (total >= 300) assert.ok(frames >= CATCH_UP_FRAMES / 2, `${total} took ${frames} frames`);
    assert.equal(catchUp.messages, 0);
  }
});

Deno.test("CatchUp keeps what arrives meanwhile behind the replay, and counts only messages", () => {
  const catchUp = new CatchUp();
  for (let i = 1; i <= 100; i++) catchUp.push(line(`old ${i}`), true);
  const first = texts(catchUp.take());
  assert.deepEqual(first, ["old 1", "old 2", "old 3", "old 4"]);
  catchUp.push(line("-- end of history --"), false);
  catchUp.push(line("live 1"), false);
  assert.equal(catchUp.messages, 96, "the live lines are not counted as missed");
  const rest = texts(catchUp.drain());
  assert.equal(rest.length, 98);
  assert.deepEqual(rest.slice(-3), ["old 100", "-- end of history --", "live 1"]);
  assert.equal(catchUp.active, false);
  assert.equal(catchUp.messages, 0);
});

Deno.test("CatchUp sets its pace afresh for the next catch-up", () => {
  const catchUp = new CatchUp();
  for (let i = 0; i < 4000; i++) catchUp.push(line("a"), true);
  assert.equal(catchUp.take().length, 100);
  catchUp.drain();
  for (let i = 0; i < 400; i++) catchUp.push(line("b"), true);
  assert.equal(catchUp.take().length, 10, "paced from this catch-up's length, not the last");
});
