import assert from "node:assert/strict";
import { Roster } from "./roster.ts";

const TS = "2024-05-01T09:05:00Z";

Deno.test("Roster follows joins, leaves and renames, comparing names without case", () => {
  const roster = new Roster();
  roster.apply({
    type: "welcome",
    name: "me",
    server: "s",
    protocol: 1,
    users: ["me", "Bob"],
    limits: {
      maxMessageBytes: 1,
      rateBurst: 1,
      ratePerSecond: 1,
      pingIntervalSeconds: 1,
      idleTimeoutSeconds: 2,
    },
  });
  roster.apply({ type: "join", name: "carol", ts: TS, online: 3 });
  roster.apply({ type: "leave", name: "BOB", ts: TS, online: 2, reason: "quit" });
  roster.apply({ type: "nick", from: "Carol", to: "caro", ts: TS });
  roster.apply({ type: "message", id: 1, ts: TS, from: "x", text: "y", kind: "say" });
  assert.deepEqual(roster.names, ["me", "caro"]);
});

Deno.test("Roster sanitises names, since completion puts them on the terminal", () => {
  const roster = new Roster();
  roster.apply({ type: "who", users: ["ev\x1b[2Jil"] });
  assert.deepEqual(roster.names, ["evil"]);
});

Deno.test("Roster follows a presence summary: who left goes, who joined comes", () => {
  const roster = new Roster();
  roster.apply({ type: "who", users: ["me", "Bob", "eve"] });
  roster.apply({
    type: "presence",
    ts: TS,
    online: 4,
    joined: ["carol", "dan"],
    left: [{ name: "BOB", reason: "quit" }, { name: "never-seen", reason: "closed" }],
  });
  assert.deepEqual(roster.names, ["me", "eve", "carol", "dan"]);
});
