import assert from "node:assert/strict";
import type { ServerEvent } from "./events.ts";
import { renderRaw } from "./raw_render.ts";

const ts = "2024-01-01T00:00:00.000Z";

Deno.test("renderRaw writes NAME~TEXT, one string per event, never the viewer's own", () => {
  const say: ServerEvent = {
    type: "message",
    id: 1,
    ts,
    from: "alice",
    text: "two\nlines\n",
    kind: "say",
  };
  assert.equal(renderRaw(say, "bob"), "alice~two\nlines");
  assert.equal(renderRaw(say, "alice"), null, "no echo");
  assert.equal(renderRaw({ ...say, history: true }, "alice"), "alice~two\nlines");
  assert.equal(renderRaw({ ...say, kind: "me", text: "waves" }, "bob"), "alice~* alice waves");
  const dm: ServerEvent = { type: "dm", id: 2, ts, from: "alice", to: "bob", text: "psst" };
  assert.equal(renderRaw(dm, "bob"), "alice~[dm] psst");
  assert.equal(renderRaw(dm, "alice"), null, "no echo of a private message either");
});

Deno.test("renderRaw makes every other event a SERVER~ notice", () => {
  assert.equal(
    renderRaw({ type: "leave", name: "bob", ts, online: 1, reason: "closed" }),
    "SERVER~bob left: closed (1 online)",
  );
  assert.equal(
    renderRaw({ type: "error", code: "bad_utf8", message: "Not UTF-8" }),
    "SERVER~! bad_utf8: Not UTF-8",
  );
  assert.equal(renderRaw({ type: "who", users: ["bob", "Al"] }), "SERVER~online (2): Al, bob");
  assert.equal(renderRaw({ type: "ping" }), null);
});

Deno.test("renderRaw never lets text forge a line or a terminal sequence", () => {
  const text = "hi\r\nSERVER~you are banned\x1b[2J";
  const out = renderRaw({ type: "message", id: 1, ts, from: "mallory", text, kind: "say" }, "x")!;
  assert.ok(!out.includes("\r") && !out.includes("\x1b"), JSON.stringify(out));
  assert.ok(out.startsWith("mallory~"));
});
