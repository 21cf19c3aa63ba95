import assert from "node:assert/strict";
import type { ServerEvent } from "./events.ts";
import { renderTextLines } from "./text_render.ts";

const ts = "2024-01-01T12:00:00.000Z";
const limits = {
  maxMessageBytes: 4096,
  rateBurst: 10,
  ratePerSecond: 5,
  pingIntervalSeconds: 30,
  idleTimeoutSeconds: 75,
};

function say(from: string, text: string, extra: { history?: true } = {}): ServerEvent {
  return { type: "message", id: 1, ts, from, text, kind: "say", ...extra };
}

Deno.test("renderTextLines prefixes every line of a message with the sender", () => {
  assert.deepEqual(renderTextLines(say("alice", "hi")), ["alice: hi"]);
  assert.deepEqual(renderTextLines(say("alice", "one\ntwo\n\nfour")), [
    "alice: one",
    "alice: two",
    "alice: ",
    "alice: four",
  ]);
  assert.deepEqual(renderTextLines(say("alice", "trailing\n\n")), ["alice: trailing"]);
});

Deno.test("renderTextLines shows actions as * name text, on every line", () => {
  const event: ServerEvent = {
    type: "message",
    id: 2,
    ts,
    from: "alice",
    text: "waves\nand smiles",
    kind: "me",
  };
  assert.deepEqual(renderTextLines(event), ["* alice waves", "* alice and smiles"]);
});

Deno.test("renderTextLines cannot be made to forge a line from someone else", () => {
  const lines = renderTextLines(
    say("mallory", "hi\r* bob left (1 online)\r\ncarol: give me your password"),
    "alice",
  );
  assert.deepEqual(lines, [
    "mallory: hi",
    "mallory: * bob left (1 online)",
    "mallory: carol: give me your password",
  ]);
  const escaped = renderTextLines(
    say("mallory", "x\x1b[2K\x1b[1Gcarol: hi\x85dave: hi\u2028eve: hi"),
  );
  assert.deepEqual(escaped, ["mallory: xcarol: hi", "mallory: dave: hi", "mallory: eve: hi"]);
  for (const line of [...lines, ...escaped]) {
    assert.ok(!line.includes("\r") && !line.includes("\n") && !line.includes("\x1b"), line);
  }
});

Deno.test("renderTextLines sanitises every field it shows", () => {
  assert.deepEqual(renderTextLines(say("al\x1b[31mice", "\u202ered\x07")), ["alice: red\uFFFD"]);
  assert.deepEqual(
    renderTextLines({ type: "error", code: "bad_name", message: "two\nlines\x1b]0;t\x07" }),
    [
      "! bad_name: two lines",
    ],
  );
  assert.deepEqual(renderTextLines({ type: "shutdown", message: "bye\r\nnow" }), [
    "* server shutting down: bye now",
  ]);
});

Deno.test("renderTextLines hides the viewer's own live messages but not history", () => {
  assert.deepEqual(renderTextLines(say("alice", "hi"), "alice"), []);
  assert.deepEqual(renderTextLines(say("alice", "hi"), "bob"), ["alice: hi"]);
  assert.deepEqual(renderTextLines(say("alice", "earlier", { history: true }), "alice"), [
    "alice: earlier",
  ]);
  assert.deepEqual(renderTextLines(say("bob", "earlier", { history: true }), "alice"), [
    "bob: earlier",
  ]);
});

Deno.test("renderTextLines shows a dm to its recipient and a confirmation to its sender", () => {
  const dm: ServerEvent = { type: "dm", id: 3, ts, from: "alice", to: "bob", text: "psst\nhey" };
  assert.deepEqual(renderTextLines(dm, "bob"), ["[dm] alice: psst", "[dm] alice: hey"]);
  assert.deepEqual(renderTextLines(dm, "alice"), ["[dm to bob] psst", "[dm to bob] hey"]);
  assert.deepEqual(renderTextLines(dm), ["[dm] alice: psst", "[dm] alice: hey"]);
  const self: ServerEvent = { type: "dm", id: 4, ts, from: "alice", to: "alice", text: "note" };
  assert.deepEqual(renderTextLines(self, "alice"), ["[dm] alice: note"]);
});

Deno.test("renderTextLines renders join, leave and nick", () => {
  assert.deepEqual(renderTextLines({ type: "join", name: "bob", ts, online: 3 }), [
    "* bob joined (3 online)",
  ]);
  assert.deepEqual(renderTextLines({ type: "leave", name: "bob", ts, online: 2, reason: "quit" }), [
    "* bob left (2 online)",
  ]);
  assert.deepEqual(
    renderTextLines({ type: "leave", name: "bob", ts, online: 2, reason: "timeout" }),
    [
      "* bob left: timeout (2 online)",
    ],
  );
  assert.deepEqual(
    renderTextLines({ type: "leave", name: "bob", ts, online: 0, reason: "closed" }),
    [
      "* bob left: closed (0 online)",
    ],
  );
  assert.deepEqual(renderTextLines({ type: "nick", from: "alice", to: "al", ts }), [
    "* alice is now known as al",
  ]);
});

Deno.test("renderTextLines lists everyone for who, sorted without regard to case", () => {
  assert.deepEqual(renderTextLines({ type: "who", users: ["carol", "Bob", "alice"] }), [
    "* online (3): alice, Bob, carol",
  ]);
  const many = Array.from({ length: 30 }, (_, i) => `u${i}`);
  assert.equal(
    renderTextLines({ type: "who", users: many })[0],
    `* online (30): ${[...many].sort((a, b) => a.localeCompare(b)).join(", ")}`,
  );
});

Deno.test("renderTextLines welcomes with the user list, the motd and a hint", () => {
  const welcome: ServerEvent = {
    type: "welcome",
    name: "alice",
    server: "chat",
    protocol: 1,
    users: ["alice", "bob", "carol"],
    limits,
  };
  assert.deepEqual(renderTextLines(welcome, "alice"), [
    "* welcome, alice — 3 online: alice, bob, carol",
    "* type /help for commands",
  ]);
  assert.deepEqual(renderTextLines({ ...welcome, motd: "be nice\r\nno spam\x1b[5m" }, "alice"), [
    "* welcome, alice — 3 online: alice, bob, carol",
    "* be nice",
    "* no spam",
    "* type /help for commands",
  ]);
});

Deno.test("renderTextLines shortens a long user list on welcome", () => {
  const users = Array.from({ length: 25 }, (_, i) => `u${i}`);
  const [first] = renderTextLines({
    type: "welcome",
    name: "u0",
    server: "chat",
    protocol: 1,
    users,
    limits,
  });
  const sorted = [...users].sort((a, b) => a.localeCompare(b));
  assert.equal(first, `* welcome, u0 — 25 online: ${sorted.slice(0, 20).join(", ")}, and 5 more`);
});

Deno.test("renderTextLines renders errors and shutdown", () => {
  assert.deepEqual(
    renderTextLines({ type: "error", code: "name_taken", message: 'The name "bob" is taken' }),
    [
      '! name_taken: The name "bob" is taken',
    ],
  );
  assert.deepEqual(renderTextLines({ type: "shutdown", message: "maintenance" }), [
    "* server shutting down: maintenance",
  ]);
  assert.deepEqual(renderTextLines({ type: "shutdown", message: "" }), ["* server shutting down"]);
});

Deno.test("renderTextLines shows no keepalive and nothing for a blank message", () => {
  assert.deepEqual(renderTextLines({ type: "ping" }), []);
  assert.deepEqual(renderTextLines({ type: "ping", id: 1 }), []);
  assert.deepEqual(renderTextLines({ type: "pong", id: "x" }), []);
  assert.deepEqual(renderTextLines(say("alice", "")), []);
  assert.deepEqual(renderTextLines(say("alice", "\n\n")), []);
});

Deno.test("renderTextLines says how many messages a gap skipped, when the server counted them", () => {
  assert.deepEqual(
    renderTextLines({ type: "gap", room: "#main", reason: "too_many", skipped: 1234 }),
    ["* too much was said in #main while you were away: 1,234 earlier messages not shown"],
  );
  assert.deepEqual(
    renderTextLines({ type: "gap", room: "#main", reason: "too_many", skipped: 1 }),
    ["* too much was said in #main while you were away: 1 earlier message not shown"],
  );
  assert.deepEqual(
    renderTextLines({ type: "gap", room: "#dev", reason: "trimmed" }),
    ["* some messages of #dev from while you were away are no longer kept"],
  );
  assert.deepEqual(
    renderTextLines({ type: "gap", room: "#dev", reason: "too_many" }),
    ["* too much was said in #dev while you were away: only the latest follow"],
  );
  // A reason of a later protocol, from a newer server.
  const later = { type: "gap", room: "#dev", reason: "compacted", skipped: 3 } as unknown;
  assert.deepEqual(renderTextLines(later as ServerEvent), [
    "* not everything said in #dev while you were away follows: 3 earlier messages not shown",
  ]);
});
