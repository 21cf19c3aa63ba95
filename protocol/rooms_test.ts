import assert from "node:assert/strict";
import { normaliseRoomName } from "./rooms.ts";

Deno.test("normaliseRoomName lower-cases, adds the #, and trims", () => {
  for (
    const [raw, room] of [["#main", "#main"], ["#Rust", "#rust"], [" dev ", "#dev"], [
      "#a.b-c_1",
      "#a.b-c_1",
    ]]
  ) {
    const result = normaliseRoomName(raw!);
    assert.ok(result.ok, raw);
    assert.equal(result.room, room);
  }
  assert.ok(normaliseRoomName("#" + "x".repeat(32)).ok);
});

Deno.test("normaliseRoomName refuses what is not a room name, with bad_room", () => {
  for (const raw of ["#", "", "#a b", "#é", "##x", "#" + "x".repeat(33), "#\u200bx", "#a/b"]) {
    const result = normaliseRoomName(raw);
    assert.ok(!result.ok, raw);
    assert.equal(result.error.code, "bad_room");
    assert.match(result.error.message, /^Room names are "#" then 1 to 32/);
  }
});
