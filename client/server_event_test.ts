import assert from "node:assert/strict";
import { checkServerEvent, decodeServerEvent } from "./server_event.ts";

const TS = "2024-05-01T09:05:00Z";

Deno.test("checkServerEvent accepts every event of the protocol", () => {
  const good = [
    {
      type: "welcome",
      name: "a",
      server: "s",
      protocol: 1,
      users: ["a"],
      limits: { maxMessageBytes: 4096 },
    },
    { type: "message", id: 1, ts: TS, from: "a", text: "t", kind: "say", history: true },
    { type: "dm", id: 2, ts: TS, from: "a", to: "b", text: "t" },
    { type: "join", name: "a", ts: TS, online: 1 },
    { type: "leave", name: "a", ts: TS, online: 0, reason: "quit" },
    { type: "nick", from: "a", to: "b", ts: TS },
    { type: "who", users: [] },
    { type: "error", code: "bad_event", message: "m" },
    { type: "ping" },
    { type: "pong", id: 7 },
    { type: "shutdown", message: "m" },
    { type: "gap", room: "#main", reason: "too_many", skipped: 1234 },
    { type: "gap", room: "#main", reason: "a later reason" },
  ];
  for (const event of good) assert.equal(checkServerEvent(event), event, JSON.stringify(event));
});

Deno.test("checkServerEvent refuses unknown types and missing or mistyped fields", () => {
  const bad = [
    null,
    [],
    "x",
    { type: "nope" },
    { type: "message", id: "1", ts: TS, from: "a", text: "t", kind: "say" },
    { type: "message", id: 1, ts: TS, from: "a", text: "t", kind: "shout" },
    { type: "who", users: [1] },
    { type: "welcome", name: "a", server: "s", protocol: 1, users: [] },
    { type: "ping", id: {} },
    { type: "gap", room: "#main", reason: "too_many", skipped: -1 },
    { type: "gap", room: "#main", reason: "too_many", skipped: 1.5 },
    { type: "gap", room: "#main", reason: "too_many", skipped: "5" },
  ];
  for (const value of bad) assert.equal(checkServerEvent(value), null, JSON.stringify(value));
});

Deno.test("decodeServerEvent refuses bad UTF-8 and non-JSON bodies", () => {
  assert.equal(decodeServerEvent(new Uint8Array([0xff, 0xfe])), null);
  assert.equal(decodeServerEvent(new TextEncoder().encode("{")), null);
  assert.equal(
    decodeServerEvent(new TextEncoder().encode('{"type":"shutdown","message":"x"}'))?.type,
    "shutdown",
  );
});

Deno.test("checkServerEvent accepts the room events and checks the room fields", () => {
  const ts = "2024-05-01T09:05:00Z";
  assert.ok(checkServerEvent({ type: "moved", room: "#rust", users: ["a"] }) !== null);
  assert.equal(checkServerEvent({ type: "moved", users: ["a"] }), null);
  assert.ok(checkServerEvent({ type: "rooms", rooms: [{ name: "#main", online: 2 }] }) !== null);
  assert.equal(checkServerEvent({ type: "rooms", rooms: [{ name: "#main" }] }), null);
  assert.ok(checkServerEvent({ type: "join", name: "b", ts, online: 2, room: "#x" }) !== null);
  assert.equal(checkServerEvent({ type: "join", name: "b", ts, online: 2, room: 5 }), null);
});

Deno.test("checkServerEvent accepts presence and checks its lists", () => {
  const ts = "2024-05-01T09:05:00Z";
  const event = { type: "presence", ts, online: 3, joined: ["a"], left: [], room: "#main" };
  assert.ok(checkServerEvent(event) !== null);
  assert.ok(checkServerEvent({ ...event, left: [{ name: "b", reason: "quit" }] }) !== null);
  assert.equal(checkServerEvent({ ...event, joined: [1] }), null);
  assert.equal(checkServerEvent({ ...event, left: ["b"] }), null);
  assert.equal(checkServerEvent({ ...event, left: [{ name: "b" }] }), null);
  assert.equal(checkServerEvent({ ...event, online: "3" }), null);
});

Deno.test("checkServerEvent accepts mod and bans events and welcome.op", () => {
  const ts = "2024-05-01T09:05:00Z";
  assert.ok(checkServerEvent({ type: "mod", action: "kick", target: "bob", by: "op", ts }));
  assert.equal(
    checkServerEvent({ type: "mod", action: "smite", target: "bob", by: "op", ts }),
    null,
  );
  assert.equal(checkServerEvent({ type: "mod", action: "kick", by: "op", ts }), null);
  assert.ok(
    checkServerEvent({
      type: "bans",
      bans: [{ target: "10.0.0.1", kind: "address", by: "op", until: ts }],
    }),
  );
  assert.equal(
    checkServerEvent({ type: "bans", bans: [{ target: "x", kind: "?", by: "o" }] }),
    null,
  );
});
