import assert from "node:assert/strict";
import { ProtocolError } from "../protocol/errors.ts";
import type { ServerEvent, ServerLimits } from "../protocol/events.ts";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import type { ClientStyle } from "./outgoing.ts";
import { Room, type RoomMember } from "./room.ts";

const LIMITS: ServerLimits = {
  maxMessageBytes: 4096,
  rateBurst: 10,
  ratePerSecond: 5,
  pingIntervalSeconds: 30,
  idleTimeoutSeconds: 75,
};
const TS = "2030-01-02T03:04:05.678Z";
const decoder = new TextDecoder();

/** A member that records every buffer it is handed. */
class FakeMember implements RoomMember {
  readonly deliveries: Uint8Array[] = [];
  constructor(readonly style: ClientStyle) {}
  deliver(bytes: Uint8Array): void {
    this.deliveries.push(bytes);
  }
  /**
   * Everything received, as JSON events (json style) or text lines/bodies (text styles). The
   * deliveries are one byte stream, as on the wire: a frame may span several of them.
   */
  items(): string[] {
    const items: string[] = [];
    const parser = new Frame64Parser((body) => items.push(decoder.decode(body)), {
      maxBodyBytes: 1 << 20,
    });
    for (const bytes of this.deliveries) {
      if (this.style === "line") {
        items.push(...decoder.decode(bytes).split("\n").filter((l) => l !== ""));
      } else {
        parser.push(bytes);
      }
    }
    assert.equal(parser.inFrame, false, "no frame left unfinished");
    return items;
  }
  events(): ServerEvent[] {
    return this.items().map((item) => JSON.parse(item));
  }
  clear(): void {
    this.deliveries.length = 0;
  }
}

/** A room whose flushes run only when the test says so. */
function makeRoom(options: { historySize?: number; motd?: string } = {}) {
  const scheduled: (() => void)[] = [];
  const room = new Room({
    historySize: options.historySize ?? 50,
    serverName: "unit",
    limits: LIMITS,
    motd: options.motd,
    now: () => new Date(TS),
    schedule: (flush) => scheduled.push(flush),
  });
  const runScheduled = () => {
    for (const flush of scheduled.splice(0)) flush();
  };
  /** Joins each member under its name, hands out the joins, and forgets what they received. */
  const joinAll = (...entries: [FakeMember, string][]) => {
    for (const [member, name] of entries) room.join(member, name);
    runScheduled();
    for (const [member] of entries) member.clear();
  };
  return { room, scheduled, runScheduled, joinAll };
}

Deno.test("Room.join sends welcome, then history, and tells only the others", () => {
  const { room, runScheduled } = makeRoom({ historySize: 2, motd: "hi" });
  const alice = new FakeMember("json");
  assert.equal(room.join(alice, "alice"), undefined);
  room.say(alice, "one", "say");
  room.say(alice, "two", "me");
  room.say(alice, "three", "say");
  runScheduled();
  alice.clear();

  const bob = new FakeMember("json");
  assert.equal(room.join(bob, "bob"), undefined);
  runScheduled();
  const [welcome, h1, h2, ...rest] = bob.events();
  assert.deepEqual(welcome, {
    type: "welcome",
    name: "bob",
    server: "unit",
    protocol: 1,
    users: ["alice", "bob"],
    limits: LIMITS,
    motd: "hi",
  });
  assert.deepEqual(h1, {
    type: "message",
    id: 2,
    ts: TS,
    from: "alice",
    text: "two",
    kind: "me",
    history: true,
  });
  assert.equal(h2?.type === "message" && h2.text, "three");
  assert.deepEqual(rest, [], "no join event for the joiner itself");
  assert.deepEqual(alice.events(), [{ type: "join", name: "bob", ts: TS, online: 2 }]);
  assert.equal(room.online, 2);
  assert.deepEqual(room.users(), ["alice", "bob"]);
});

Deno.test("Room.join refuses a name taken in any case", () => {
  const { room } = makeRoom();
  room.join(new FakeMember("json"), "Alice");
  const error = room.join(new FakeMember("line"), "aLICE");
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.code, "name_taken");
  assert.match(error.message, /^The name "aLICE" is taken/);
  assert.equal(room.online, 1);
  assert.equal(room.isTaken("ALICE"), true);
  assert.equal(room.isTaken("bob"), false);
});

Deno.test("Room broadcasts encode each frame once and hand every member the same buffer", () => {
  const { room, runScheduled } = makeRoom();
  const json = [new FakeMember("json"), new FakeMember("json"), new FakeMember("json")];
  const lines = [new FakeMember("line"), new FakeMember("line")];
  const plain = [new FakeMember("plain"), new FakeMember("plain")];
  const all = [...json, ...lines, ...plain];
  all.forEach((member, i) => room.join(member, `m${i}`));
  runScheduled();
  for (const member of all) member.clear();

  room.say(json[0]!, "shared", "say");
  runScheduled();
  for (const group of [json, lines, plain]) {
    for (const member of group) assert.equal(member.deliveries.length, 1);
    for (const member of group.slice(1)) {
      assert.equal(member.deliveries[0], group[0]!.deliveries[0], "the very same buffer");
    }
  }
  assert.notEqual(json[0]!.deliveries[0], lines[0]!.deliveries[0]);
  assert.equal(lines[0]!.items()[0], "m0: shared");
  assert.equal(plain[0]!.items()[0], "m0: shared");
});

Deno.test("Room gathers the broadcasts of one turn into one delivery per member", () => {
  const { room, scheduled, runScheduled } = makeRoom();
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  room.join(a, "a");
  room.join(b, "b");
  runScheduled();
  a.clear();
  b.clear();
  room.say(a, "one", "say");
  room.say(b, "two", "say");
  room.say(a, "three", "me");
  assert.equal(scheduled.length, 1, "one flush scheduled for the turn");
  assert.equal(a.deliveries.length, 0, "nothing leaves before the flush");
  runScheduled();
  assert.equal(a.deliveries.length, 1);
  assert.equal(b.deliveries[0], a.deliveries[0]);
  assert.deepEqual(a.events().map((e) => e.type === "message" && [e.id, e.text]), [
    [1, "one"],
    [2, "two"],
    [3, "three"],
  ]);
});

Deno.test("Room never sends a text member its own chat lines, but sends it the rest", () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const json = new FakeMember("json");
  const line = new FakeMember("line");
  const plain = new FakeMember("plain");
  joinAll([json, "alice"], [line, "bob"], [plain, "carol"]);

  room.say(line, "from bob", "say");
  room.say(json, "from alice", "say");
  room.say(plain, "from carol", "me");
  runScheduled();
  assert.deepEqual(line.items(), ["alice: from alice", "* carol from carol"]);
  assert.deepEqual(plain.items(), ["bob: from bob", "alice: from alice"]);
  assert.deepEqual(
    json.events().map((e) => e.type === "message" && e.from),
    ["bob", "alice", "carol"],
    "a JSON member gets its own message back as the echo",
  );
});

Deno.test("Room.dm reaches the recipient by any case, echoes to the sender, shares ids", () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const alice = new FakeMember("json");
  const bob = new FakeMember("json");
  const carol = new FakeMember("line");
  joinAll([alice, "alice"], [bob, "Bob"], [carol, "carol"]);

  const said = room.say(alice, "public", "say");
  const dm = room.dm(alice, "bOB", "private");
  assert.ok(!(dm instanceof ProtocolError));
  assert.deepEqual(dm, {
    type: "dm",
    id: said.id + 1,
    ts: TS,
    from: "alice",
    to: "Bob",
    text: "private",
  });
  const toCarol = room.dm(alice, "CAROL", "psst");
  runScheduled();
  assert.deepEqual(bob.events().filter((e) => e.type === "dm"), [dm]);
  assert.deepEqual(alice.events().filter((e) => e.type === "dm"), [dm, toCarol]);
  assert.deepEqual(carol.items(), ["alice: public", "[dm] alice: psst"]);

  const missing = room.dm(alice, "nobody", "hello?");
  assert.ok(missing instanceof ProtocolError);
  assert.equal(missing.code, "no_such_user");
  const next = room.say(bob, "after", "say");
  assert.equal(next.id, (toCarol as { id: number }).id + 1, "a refused dm takes no id");
});

Deno.test("Room.dm from a text member confirms to the sender as a dm to the recipient", () => {
  const { room, runScheduled } = makeRoom();
  const line = new FakeMember("line");
  const json = new FakeMember("json");
  room.join(line, "bob");
  room.join(json, "alice");
  runScheduled();
  line.clear();
  room.dm(line, "alice", "hello");
  assert.deepEqual(line.items(), ["[dm to alice] hello"]);
});

Deno.test("Room keeps only historySize messages and none at 0; dms are not history", () => {
  for (const size of [0, 1, 3]) {
    const { room } = makeRoom({ historySize: size });
    const alice = new FakeMember("json");
    room.join(alice, "alice");
    for (let i = 1; i <= 5; i++) room.say(alice, `m${i}`, "say");
    room.dm(alice, "alice", "secret");
    const bob = new FakeMember("json");
    room.join(bob, "bob");
    const replay = bob.events().filter((e) => e.type === "message");
    assert.deepEqual(
      replay.map((e) => e.type === "message" && e.text),
      ["m1", "m2", "m3", "m4", "m5"].slice(5 - size),
      `history ${size}`,
    );
  }
});

Deno.test("Room.rename tells everyone, refuses a taken name, and frees the old one", () => {
  const { room, runScheduled } = makeRoom();
  const alice = new FakeMember("json");
  const bob = new FakeMember("line");
  room.join(alice, "alice");
  room.join(bob, "bob");
  runScheduled();
  alice.clear();
  bob.clear();
  assert.equal(room.rename(bob, "ALICE")?.code, "name_taken");
  assert.equal(room.rename(bob, "robert"), undefined);
  assert.equal(room.rename(alice, "Alice"), undefined, "a change of case is allowed");
  runScheduled();
  assert.deepEqual(bob.items(), ["* bob is now known as robert", "* alice is now known as Alice"]);
  assert.deepEqual(alice.events()[0], { type: "nick", from: "bob", to: "robert", ts: TS });
  assert.equal(room.nameOf(bob), "robert");
  assert.equal(room.isTaken("bob"), false);
  assert.equal(room.join(new FakeMember("json"), "BOB"), undefined);
});

Deno.test("Room.leave announces with the count and reason, or leaves silently", () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const [a, b, c] = [new FakeMember("json"), new FakeMember("json"), new FakeMember("line")];
  joinAll([a, "a"], [b, "b"], [c, "c"]);
  room.leave(b, "slow");
  room.leave(b, "quit");
  runScheduled();
  assert.deepEqual(a.events(), [{ type: "leave", name: "b", ts: TS, online: 2, reason: "slow" }]);
  assert.deepEqual(c.items(), ["* b left: slow (2 online)"]);
  room.leave(c, "shutdown", false);
  runScheduled();
  assert.equal(a.events().length, 1, "a silent leave sends nothing");
  assert.equal(room.online, 1);
  assert.equal(room.nameOf(c), undefined);
});

Deno.test("Room.leave hands pending broadcasts to a member that quits, not to a closed one", () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const [a, quitter, closed, slow] = [
    new FakeMember("json"),
    new FakeMember("json"),
    new FakeMember("json"),
    new FakeMember("json"),
  ];
  joinAll([a, "a"], [quitter, "q"], [closed, "c"], [slow, "s"]);
  room.say(a, "pending", "say");
  room.leave(quitter, "quit");
  room.leave(closed, "closed");
  room.leave(slow, "slow");
  runScheduled();
  assert.deepEqual(quitter.events().map((event) => event.type), ["message"]);
  assert.deepEqual(closed.events(), [], "its connection ended: nobody reads it");
  assert.deepEqual(slow.events(), [], "it could not keep up");
});

Deno.test("Room.sendTo delivers after what is already pending, keeping order", () => {
  const { room, runScheduled } = makeRoom();
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  room.join(a, "a");
  room.join(b, "b");
  runScheduled();
  b.clear();
  room.say(a, "first", "say");
  room.sendTo(b, { type: "pong", id: 1 });
  runScheduled();
  assert.deepEqual(b.events().map((e) => e.type), ["message", "pong"]);
});

Deno.test("Room.join delivers pending broadcasts to the others only", () => {
  const { room, runScheduled } = makeRoom({ historySize: 0 });
  const a = new FakeMember("json");
  room.join(a, "a");
  room.say(a, "before bob", "say");
  const b = new FakeMember("json");
  room.join(b, "b");
  runScheduled();
  assert.deepEqual(b.events().map((e) => e.type), ["welcome"]);
  assert.deepEqual(a.events().map((e) => e.type), ["welcome", "message", "join"]);
});

Deno.test("Room.sendTo hands pending broadcasts to that member only, the rest wait for the flush", () => {
  const { room, runScheduled } = makeRoom();
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  room.join(a, "a");
  room.join(b, "b");
  runScheduled();
  a.clear();
  b.clear();
  room.say(a, "first", "say");
  room.sendTo(b, { type: "pong", id: 1 });
  assert.deepEqual(b.events().map((e) => e.type), ["message", "pong"]);
  assert.deepEqual(a.events(), [], "the others are not flushed by a private send");
  runScheduled();
  assert.deepEqual(a.events().map((e) => e.type), ["message"]);
  assert.deepEqual(b.events().map((e) => e.type), ["message", "pong"], "b gets nothing twice");
});

Deno.test("Room.leave hands the leaver what was pending, and nothing after", () => {
  const { room, runScheduled } = makeRoom();
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  room.join(a, "a");
  room.join(b, "b");
  runScheduled();
  b.clear();
  room.say(a, "before", "say");
  room.leave(b, "quit");
  room.say(a, "after", "say");
  room.sendTo(b, { type: "pong", id: 2 });
  runScheduled();
  assert.deepEqual(
    b.events().map((e) => e.type === "message" ? e.text : e.type),
    ["before", "pong"],
  );
});

Deno.test("Room gathers a burst of joins in one turn into one delivery per earlier member", () => {
  const { room, runScheduled } = makeRoom({ historySize: 0 });
  const early = [new FakeMember("json"), new FakeMember("json")];
  early.forEach((member, i) => room.join(member, `e${i}`));
  runScheduled();
  for (const member of early) member.clear();
  const late = [new FakeMember("json"), new FakeMember("json"), new FakeMember("json")];
  late.forEach((member, i) => room.join(member, `l${i}`));
  for (const member of late) {
    assert.deepEqual(member.events().map((e) => e.type), ["welcome"], "welcome at once");
  }
  runScheduled();
  for (const member of early) {
    assert.equal(member.deliveries.length, 1, "one buffer for the whole burst");
    assert.equal(member.deliveries[0], early[0]!.deliveries[0], "shared by every earlier member");
    assert.deepEqual(member.events().map((e) => e.type === "join" && e.name), ["l0", "l1", "l2"]);
  }
  // Each newcomer hears only of those that joined after it.
  assert.deepEqual(late.map((m) => m.events().slice(1).map((e) => e.type === "join" && e.name)), [
    ["l1", "l2"],
    ["l2"],
    [],
  ]);
  late[2]!.clear();
  runScheduled();
  assert.equal(late[2]!.deliveries.length, 0, "no empty delivery");
});

Deno.test("Room replays the history with buffers shared by every newcomer", () => {
  const { room, runScheduled } = makeRoom({ historySize: 2 });
  const a = new FakeMember("json");
  room.join(a, "a");
  room.say(a, "one", "say");
  runScheduled();
  const b = new FakeMember("json");
  const c = new FakeMember("json");
  room.join(b, "b");
  room.join(c, "c");
  assert.equal(b.deliveries.at(-1), c.deliveries.at(-1), "the same history buffer");
  assert.deepEqual(b.events()[1], {
    type: "message",
    id: 1,
    ts: TS,
    from: "a",
    text: "one",
    kind: "say",
    history: true,
  });
});

Deno.test("Room's welcome lists the members as they are after leaves and renames", () => {
  const { room, runScheduled } = makeRoom({ motd: "hi" });
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  room.join(a, "a");
  room.join(b, "b");
  room.leave(b, "quit");
  room.rename(a, "z");
  runScheduled();
  const c = new FakeMember("json");
  room.join(c, "c");
  const d = new FakeMember("json");
  room.join(d, "d");
  assert.deepEqual(c.events()[0], {
    type: "welcome",
    name: "c",
    server: "unit",
    protocol: 1,
    users: ["z", "c"],
    limits: LIMITS,
    motd: "hi",
  });
  const welcome = d.events()[0];
  assert.deepEqual(welcome?.type === "welcome" && welcome.users, ["z", "c", "d"]);
});
