import assert from "node:assert/strict";
import type { ServerEvent } from "../protocol/events.ts";
import { formatClock, makeColors, mentionPattern, nameColorIndex, Renderer } from "./render.ts";

const TS = "2024-05-01T09:05:00Z";
const CLOCK = formatClock(TS, new Date());
// deno-lint-ignore no-control-regex
const ESCAPE = /\x1b/;

function plain(style: "terminal" | "plain" = "terminal"): Renderer {
  return new Renderer({ colors: makeColors(false), style });
}

function say(from: string, text: string, extra: Partial<ServerEvent> = {}): ServerEvent {
  return { type: "message", id: 1, ts: TS, from, text, kind: "say", ...extra } as ServerEvent;
}

Deno.test("formatClock shows local HH:MM and falls back on a bad timestamp", () => {
  const date = new Date(2024, 0, 2, 7, 4);
  assert.equal(formatClock(date, new Date()), "07:04");
  assert.equal(formatClock("not a time", date), "07:04");
  assert.match(CLOCK, /^\d\d:\d\d$/);
});

Deno.test("Renderer shows messages, actions and private messages", () => {
  const r = plain();
  assert.deepEqual(r.render(say("bob", "hi all"), "alice"), {
    lines: [`${CLOCK} bob: hi all`],
    bell: false,
    indent: "00:00 bob: ".length,
  });
  assert.deepEqual(r.render(say("bob", "waves", { kind: "me" }), "alice").lines, [
    `${CLOCK} * bob waves`,
  ]);
  const dm: ServerEvent = { type: "dm", id: 2, ts: TS, from: "bob", to: "alice", text: "psst" };
  assert.deepEqual(r.render(dm, "alice"), {
    lines: [`${CLOCK} [dm] bob → alice: psst`],
    bell: true,
    indent: "00:00 [dm] bob → alice: ".length,
  });
  const ownDm: ServerEvent = { ...dm, from: "alice", to: "bob" };
  assert.equal(r.render(ownDm, "alice").bell, false);
});

Deno.test("Renderer sets system events apart", () => {
  const r = plain();
  const events: [ServerEvent, string][] = [
    [{ type: "join", name: "bob", ts: TS, online: 3 }, `${CLOCK} -- bob joined (3 online)`],
    [
      { type: "leave", name: "bob", ts: TS, online: 2, reason: "quit" },
      `${CLOCK} -- bob left (2 online)`,
    ],
    [
      { type: "leave", name: "bob", ts: TS, online: 2, reason: "timeout" },
      `${CLOCK} -- bob left (timed out, 2 online)`,
    ],
    [
      // One pair of parentheses (it was "left (connection closed) (4 online)").
      { type: "leave", name: "bob", ts: TS, online: 4, reason: "closed" },
      `${CLOCK} -- bob left (connection closed, 4 online)`,
    ],
    [
      { type: "leave", name: "bob", ts: TS, online: 1, reason: "slow" },
      `${CLOCK} -- bob was disconnected (too slow to keep up, 1 online)`,
    ],
    [{ type: "nick", from: "bob", to: "rob", ts: TS }, `${CLOCK} -- bob is now known as rob`],
    [{ type: "who", users: ["zed", "Alice", "bob"] }, "-- 3 online: Alice, bob, zed"],
    [{ type: "error", code: "no_such_user", message: 'No user "x"' }, '!! No user "x"'],
    [{ type: "shutdown", message: "bye" }, "!! The server is shutting down: bye"],
  ];
  for (const [event, line] of events) assert.deepEqual(r.render(event, "alice").lines, [line]);
  assert.deepEqual(r.render({ type: "ping" }, "alice").lines, []);
});

Deno.test("Renderer shows the welcome with the users and the motd", () => {
  const lines = plain().render({
    type: "welcome",
    name: "alice",
    server: "den",
    protocol: 1,
    users: ["bob", "alice"],
    limits: {
      maxMessageBytes: 4096,
      rateBurst: 10,
      ratePerSecond: 5,
      pingIntervalSeconds: 30,
      idleTimeoutSeconds: 75,
    },
    motd: "Be nice\nNo spam",
  }, "alice").lines;
  assert.deepEqual(lines, [
    "-- Welcome to den, alice. 2 online: alice, bob",
    "-- Be nice",
    "-- No spam",
  ]);
});

Deno.test("Renderer indents the lines of a multi-line message, or repeats the prefix when plain", () => {
  assert.deepEqual(plain().render(say("bob", "one\ntwo"), "alice").lines, [
    `${CLOCK} bob: one`,
    `${" ".repeat(CLOCK.length + 6)}two`,
  ]);
  assert.deepEqual(plain("plain").render(say("bob", "one\ntwo"), "alice").lines, [
    `${CLOCK} bob: one`,
    `${CLOCK} bob: two`,
  ]);
});

Deno.test("Renderer lets no terminal control through from names or text", () => {
  const r = new Renderer({ colors: makeColors(true), style: "terminal" });
  const nasty = say("b\x1b]0;pwned\x07ob", "x\x1b[2J\ry\u009b31m\u202ez\x07");
  const { lines } = r.render(nasty, "alice");
  const text = lines.join("\n");
  for (const bad of ["\x1b[2J", "\x1b]", "\r", "\u009b", "\u202e", "\x07"]) {
    assert.ok(!text.includes(bad), `found ${JSON.stringify(bad)} in ${JSON.stringify(text)}`);
  }
  assert.ok(text.includes("x\ny") || lines.length === 2);
});

Deno.test("Renderer without colours writes no escape sequences at all", () => {
  const r = plain();
  const events: ServerEvent[] = [
    say("bob", "hi alice"),
    { type: "join", name: "bob", ts: TS, online: 2 },
    { type: "error", code: "bad_event", message: "Nope" },
  ];
  for (const event of events) {
    for (const line of r.render(event, "alice").lines) assert.doesNotMatch(line, ESCAPE);
  }
  assert.doesNotMatch(r.notice("x").lines[0]!, ESCAPE);
});

Deno.test("Renderer colours a name the same way every time", () => {
  const r = new Renderer({ colors: makeColors(true), style: "terminal" });
  assert.equal(
    r.name("Bob"),
    r.render(say("Bob", "x"), "a").lines[0]!.split(" ")[1]!.split(":")[0],
  );
  assert.equal(nameColorIndex("BOB"), nameColorIndex("bob"));
  const indexes = new Set(["alice", "bob", "carol", "dave", "erin", "frank"].map(nameColorIndex));
  assert.ok(indexes.size > 2, "names spread over the palette");
  assert.notEqual(r.name("bob"), "bob");
});

Deno.test("Renderer highlights a mention of my name and rings the bell", () => {
  const r = new Renderer({ colors: makeColors(true), style: "terminal" });
  const mention = r.render(say("bob", "hey ALICE, look"), "alice");
  assert.equal(mention.bell, true);
  assert.ok(mention.lines[0]!.includes("\x1b[7m"), "inverse video on the mention");
  assert.equal(r.render(say("bob", "malice aforethought"), "alice").bell, false);
  assert.equal(r.render(say("alice", "I am alice"), "alice").bell, false, "not for my own");
  assert.equal(
    r.render(say("bob", "alice", { history: true }), "alice").bell,
    false,
    "not for history",
  );
  assert.equal(plain("plain").render(say("bob", "alice!"), "alice").bell, false);
});

Deno.test("mentionPattern matches whole names in any case", () => {
  const pattern = mentionPattern("a.b-c");
  assert.ok(pattern.test("hi @A.B-C!"));
  pattern.lastIndex = 0;
  assert.ok(!pattern.test("a.b-cd"));
  pattern.lastIndex = 0;
  assert.ok(!pattern.test("axb-c"));
});

Deno.test("Renderer dims replayed messages, dates them when not today, and ends history", () => {
  const now = new Date(2026, 11, 6, 15, 0);
  const renderer = new Renderer({ colors: makeColors(true), style: "terminal", now: () => now });
  const old = renderer.render({
    type: "message",
    id: 1,
    ts: new Date(2026, 11, 5, 9, 5).toISOString(),
    from: "bob",
    text: "hi alice\nsecond",
    kind: "say",
    history: true,
  }, "alice");
  assert.deepEqual(old.lines, [
    "\x1b[2m2026-12-05 09:05 bob: hi alice\x1b[22m",
    `\x1b[2m${" ".repeat("2026-12-05 09:05 bob: ".length)}second\x1b[22m`,
  ]);
  assert.equal(old.bell, false, "history never rings");
  assert.deepEqual(renderer.historyEnd().lines, ["\x1b[2m-- end of history --\x1b[22m"]);
});

Deno.test("Renderer marks where the messages an identity missed start", () => {
  const lines = plain().render({
    type: "welcome",
    name: "alice",
    server: "den",
    protocol: 1,
    users: ["alice"],
    limits: {
      maxMessageBytes: 4096,
      rateBurst: 10,
      ratePerSecond: 5,
      pingIntervalSeconds: 30,
      idleTimeoutSeconds: 75,
    },
    motd: "Hi",
    unread: 37,
  }, "alice").lines;
  assert.equal(lines.at(-1), "-- 37 new since you left --");
});

Deno.test("Renderer shows a presence summary as one line, the names cut short", () => {
  const r = plain();
  const joined = Array.from({ length: 37 }, (_, i) => `u${i}`);
  const event: ServerEvent = {
    type: "presence",
    ts: TS,
    online: 1203,
    joined,
    left: [{ name: "eve", reason: "quit" }, { name: "zed", reason: "timeout" }],
  };
  assert.deepEqual(r.render(event, "alice").lines, [
    `${CLOCK} -- +37 joined: u0, u1, u2, u3, u4, u5, u6, u7, and 29 more; 2 left: eve, zed ` +
    "(1203 online)",
  ]);
  const left: ServerEvent = {
    ...event,
    joined: [],
    left: [{ name: "\x1b[2Jbob", reason: "quit" }],
  };
  assert.deepEqual(r.render(left, "alice").lines, [`${CLOCK} -- 1 left: bob (1203 online)`]);
});

Deno.test("Renderer groups the counts of a long absence by thousands", () => {
  const welcome = plain().render({
    type: "welcome",
    name: "alice",
    server: "den",
    protocol: 1,
    users: ["alice"],
    limits: {
      maxMessageBytes: 4096,
      rateBurst: 10,
      ratePerSecond: 5,
      pingIntervalSeconds: 30,
      idleTimeoutSeconds: 75,
    },
    unread: 1000,
  }, "alice").lines;
  assert.equal(welcome.at(-1), "-- 1,000 new since you left --");
  const gap = plain().render(
    { type: "gap", room: "#main", reason: "too_many", skipped: 1234 },
    "alice",
  ).lines;
  assert.deepEqual(gap, [
    "-- too much was said in #main while you were away: 1,234 earlier messages not shown",
  ]);
});
