import assert from "node:assert/strict";
import { Chat } from "../core/chat.ts";
import { InProcessBroker } from "../core/in_process_broker.ts";
import { ProtocolError } from "../protocol/errors.ts";
import type { MessageEvent, ServerEvent, ServerLimits } from "../protocol/events.ts";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import { type DeliveryMember, NodeDelivery } from "./delivery.ts";
import type { ClientStyle } from "./outgoing.ts";

const LIMITS: ServerLimits = {
  maxMessageBytes: 4096,
  rateBurst: 10,
  ratePerSecond: 5,
  pingIntervalSeconds: 30,
  idleTimeoutSeconds: 75,
};
const TS = "2030-01-02T03:04:05.678Z";
/** Epochs are random: the tests compare events with their epoch replaced by this. */
const EPOCH = "epoch";

/** An event with its epoch (random) replaced by {@linkcode EPOCH}, when it has one. */
function fixEpoch(event: ServerEvent | undefined): ServerEvent | undefined {
  if (event === undefined || !("epoch" in event)) return event;
  assert.match(String(event.epoch), /^\S+$/, "an epoch is a non-empty word");
  return { ...event, epoch: EPOCH } as ServerEvent;
}
const decoder = new TextDecoder();
let nextMemberId = 1;
/** The chat of the test under way, for the members' names. */
let current: Chat<FakeMember> | null = null;

/** A member that records every buffer it is handed. */
class FakeMember implements DeliveryMember {
  readonly deliveries: Uint8Array[] = [];
  readonly ref = { node: "local", id: nextMemberId++ };
  active = true;
  constructor(readonly style: ClientStyle) {}
  get name(): string | undefined {
    return current?.nameOf(this);
  }
  get room(): string | undefined {
    return current?.roomOf(this);
  }
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

/**
 * The chat core with the in-process broker and this node's delivery, whose ticks run only when
 * the test says so. `room` is the core seen from one member's side, as the session uses it.
 */
function makeRoom(
  options: { historySize?: number; keepMessages?: number; motd?: string; maxRooms?: number } = {},
) {
  const scheduled: (() => void)[] = [];
  const delivery = new NodeDelivery({ schedule: (flush) => scheduled.push(flush) });
  const broker = InProcessBroker.create({
    keepMessages: options.keepMessages ?? options.historySize ?? 50,
    now: () => new Date(TS),
  });
  const chat = new Chat<FakeMember>({
    broker,
    historySize: options.historySize ?? 50,
    maxRooms: options.maxRooms ?? 10,
    serverName: "unit",
    limits: LIMITS,
    motd: options.motd,
  }, delivery);
  current = chat;
  const room = {
    join: (member: FakeMember, name: string) => chat.join(member, name),
    say: async (member: FakeMember, text: string, kind: "say" | "me") =>
      (await chat.say(member, text, kind))!.event as MessageEvent,
    dm: (member: FakeMember, to: string, text: string) => chat.dm(member, to, text),
    rename: (member: FakeMember, name: string) => chat.rename(member, name),
    leave: (member: FakeMember, reason: "quit" | "closed" | "slow" | "shutdown", announce = true) =>
      chat.leave(member, reason, announce),
    move: (member: FakeMember, name: string) => chat.move(member, name),
    sendTo: (member: FakeMember, event: ServerEvent) => delivery.send(member, event),
    nameOf: (member: FakeMember) => chat.nameOf(member),
    isTaken: async (name: string) => (await broker.lookupName(name)) !== undefined,
    get online() {
      return chat.size;
    },
  };
  const runScheduled = () => {
    for (const flush of scheduled.splice(0)) flush();
  };
  /** Joins each member under its name, hands out the joins, and forgets what they received. */
  const joinAll = async (...entries: [FakeMember, string][]) => {
    for (const [member, name] of entries) await room.join(member, name);
    runScheduled();
    for (const [member] of entries) member.clear();
  };
  return { room, chat, broker, scheduled, runScheduled, joinAll };
}

Deno.test("Chat.join sends welcome, then history, and tells only the others", async () => {
  const { room, broker, runScheduled } = makeRoom({ historySize: 2, motd: "hi" });
  const alice = new FakeMember("json");
  assert.deepEqual(await room.join(alice, "alice"), { online: 1 });
  await room.say(alice, "one", "say");
  await room.say(alice, "two", "me");
  await room.say(alice, "three", "say");
  runScheduled();
  alice.clear();

  const bob = new FakeMember("json");
  assert.deepEqual(await room.join(bob, "bob"), { online: 2 });
  runScheduled();
  const [welcome, h1, h2, ...rest] = bob.events();
  assert.deepEqual(fixEpoch(welcome), {
    type: "welcome",
    name: "bob",
    server: "unit",
    protocol: 1,
    users: ["alice", "bob"],
    limits: LIMITS,
    motd: "hi",
    room: "#main",
    features: ["rooms", "resume"],
    epoch: EPOCH,
  });
  assert.deepEqual(h1, {
    type: "message",
    id: 2,
    ts: TS,
    from: "alice",
    text: "two",
    kind: "me",
    history: true,
    room: "#main",
  });
  assert.equal(h2?.type === "message" && h2.text, "three");
  assert.deepEqual(rest, [], "no join event for the joiner itself");
  assert.deepEqual(alice.events(), [{
    type: "join",
    name: "bob",
    ts: TS,
    online: 2,
    room: "#main",
  }]);
  assert.equal(room.online, 2);
  assert.deepEqual(await broker.members("#main"), ["alice", "bob"]);
});

Deno.test("Chat.join refuses a name taken in any case", async () => {
  const { room } = makeRoom();
  await room.join(new FakeMember("json"), "Alice");
  const error = await room.join(new FakeMember("line"), "aLICE");
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.code, "name_taken");
  assert.match(error.message, /^The name "aLICE" is taken/);
  assert.equal(room.online, 1);
  assert.equal(await room.isTaken("ALICE"), true);
  assert.equal(await room.isTaken("bob"), false);
});

Deno.test("Chat broadcasts encode each frame once and hand every member the same buffer", async () => {
  const { room, runScheduled } = makeRoom();
  const json = [new FakeMember("json"), new FakeMember("json"), new FakeMember("json")];
  const lines = [new FakeMember("line"), new FakeMember("line")];
  const plain = [new FakeMember("plain"), new FakeMember("plain")];
  const all = [...json, ...lines, ...plain];
  for (const [i, member] of all.entries()) await room.join(member, `m${i}`);
  runScheduled();
  for (const member of all) member.clear();

  await room.say(json[0]!, "shared", "say");
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

Deno.test("Chat gathers the broadcasts of one turn into one delivery per member", async () => {
  const { room, scheduled, runScheduled } = makeRoom();
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  await room.join(a, "a");
  await room.join(b, "b");
  runScheduled();
  a.clear();
  b.clear();
  await room.say(a, "one", "say");
  await room.say(b, "two", "say");
  await room.say(a, "three", "me");
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

Deno.test("Chat never sends a text member its own chat lines, but sends it the rest", async () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const json = new FakeMember("json");
  const line = new FakeMember("line");
  const plain = new FakeMember("plain");
  await joinAll([json, "alice"], [line, "bob"], [plain, "carol"]);

  await room.say(line, "from bob", "say");
  await room.say(json, "from alice", "say");
  await room.say(plain, "from carol", "me");
  runScheduled();
  assert.deepEqual(line.items(), ["alice: from alice", "* carol from carol"]);
  assert.deepEqual(plain.items(), ["bob: from bob", "alice: from alice"]);
  assert.deepEqual(
    json.events().map((e) => e.type === "message" && e.from),
    ["bob", "alice", "carol"],
    "a JSON member gets its own message back as the echo",
  );
});

Deno.test("Chat.dm reaches the recipient by any case, echoes to the sender, shares ids", async () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const alice = new FakeMember("json");
  const bob = new FakeMember("json");
  const carol = new FakeMember("line");
  await joinAll([alice, "alice"], [bob, "Bob"], [carol, "carol"]);

  const said = await room.say(alice, "public", "say");
  const dm = await room.dm(alice, "bOB", "private");
  assert.ok(!(dm instanceof ProtocolError));
  assert.deepEqual(dm, {
    type: "dm",
    id: said.id + 1,
    ts: TS,
    from: "alice",
    to: "Bob",
    text: "private",
  });
  const toCarol = await room.dm(alice, "CAROL", "psst");
  runScheduled();
  assert.deepEqual(bob.events().filter((e) => e.type === "dm"), [dm]);
  assert.deepEqual(alice.events().filter((e) => e.type === "dm"), [dm, toCarol]);
  assert.deepEqual(carol.items(), ["alice: public", "[dm] alice: psst"]);

  const missing = await room.dm(alice, "nobody", "hello?");
  assert.ok(missing instanceof ProtocolError);
  assert.equal(missing.code, "no_such_user");
  const next = await room.say(bob, "after", "say");
  assert.equal(next.id, (toCarol as { id: number }).id + 1, "a refused dm takes no id");
});

Deno.test("Chat.dm from a text member confirms to the sender as a dm to the recipient", async () => {
  const { room, runScheduled } = makeRoom();
  const line = new FakeMember("line");
  const json = new FakeMember("json");
  await room.join(line, "bob");
  await room.join(json, "alice");
  runScheduled();
  line.clear();
  await room.dm(line, "alice", "hello");
  assert.deepEqual(line.items(), ["[dm to alice] hello"]);
});

Deno.test("Chat keeps only historySize messages and none at 0; dms are not history", async () => {
  for (const size of [0, 1, 3]) {
    const { room } = makeRoom({ historySize: size });
    const alice = new FakeMember("json");
    await room.join(alice, "alice");
    for (let i = 1; i <= 5; i++) await room.say(alice, `m${i}`, "say");
    await room.dm(alice, "alice", "secret");
    const bob = new FakeMember("json");
    await room.join(bob, "bob");
    const replay = bob.events().filter((e) => e.type === "message");
    assert.deepEqual(
      replay.map((e) => e.type === "message" && e.text),
      ["m1", "m2", "m3", "m4", "m5"].slice(5 - size),
      `history ${size}`,
    );
  }
});

Deno.test("Chat.rename tells everyone, refuses a taken name, and frees the old one", async () => {
  const { room, runScheduled } = makeRoom();
  const alice = new FakeMember("json");
  const bob = new FakeMember("line");
  await room.join(alice, "alice");
  await room.join(bob, "bob");
  runScheduled();
  alice.clear();
  bob.clear();
  assert.equal((await room.rename(bob, "ALICE"))?.code, "name_taken");
  assert.equal(await room.rename(bob, "robert"), undefined);
  assert.equal(await room.rename(alice, "Alice"), undefined, "a change of case is allowed");
  runScheduled();
  assert.deepEqual(bob.items(), ["* bob is now known as robert", "* alice is now known as Alice"]);
  assert.deepEqual(alice.events()[0], { type: "nick", from: "bob", to: "robert", ts: TS });
  assert.equal(room.nameOf(bob), "robert");
  assert.equal(await room.isTaken("bob"), false);
  assert.deepEqual(await room.join(new FakeMember("json"), "BOB"), { online: 3 });
});

Deno.test("Chat.leave announces with the count and reason, or leaves silently", async () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const [a, b, c] = [new FakeMember("json"), new FakeMember("json"), new FakeMember("line")];
  await joinAll([a, "a"], [b, "b"], [c, "c"]);
  await room.leave(b, "slow");
  await room.leave(b, "quit");
  runScheduled();
  assert.deepEqual(a.events(), [
    { type: "leave", name: "b", ts: TS, online: 2, reason: "slow", room: "#main" },
  ]);
  assert.deepEqual(c.items(), ["* b left: slow (2 online)"]);
  await room.leave(c, "shutdown", false);
  runScheduled();
  assert.equal(a.events().length, 1, "a silent leave sends nothing");
  assert.equal(room.online, 1);
  assert.equal(room.nameOf(c), undefined);
});

Deno.test("Chat.leave hands pending broadcasts to a member that quits, not to a closed one", async () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const [a, quitter, closed, slow] = [
    new FakeMember("json"),
    new FakeMember("json"),
    new FakeMember("json"),
    new FakeMember("json"),
  ];
  await joinAll([a, "a"], [quitter, "q"], [closed, "c"], [slow, "s"]);
  await room.say(a, "pending", "say");
  await room.leave(quitter, "quit");
  await room.leave(closed, "closed");
  await room.leave(slow, "slow");
  runScheduled();
  assert.deepEqual(quitter.events().map((event) => event.type), ["message"]);
  assert.deepEqual(closed.events(), [], "its connection ended: nobody reads it");
  assert.deepEqual(slow.events(), [], "it could not keep up");
});

Deno.test("Chat.sendTo delivers after what is already pending, keeping order", async () => {
  const { room, runScheduled } = makeRoom();
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  await room.join(a, "a");
  await room.join(b, "b");
  runScheduled();
  b.clear();
  await room.say(a, "first", "say");
  room.sendTo(b, { type: "pong", id: 1 });
  runScheduled();
  assert.deepEqual(b.events().map((e) => e.type), ["message", "pong"]);
});

Deno.test("Chat.join delivers pending broadcasts to the others only", async () => {
  const { room, runScheduled } = makeRoom({ historySize: 0 });
  const a = new FakeMember("json");
  await room.join(a, "a");
  await room.say(a, "before bob", "say");
  const b = new FakeMember("json");
  await room.join(b, "b");
  runScheduled();
  assert.deepEqual(b.events().map((e) => e.type), ["welcome"]);
  assert.deepEqual(a.events().map((e) => e.type), ["welcome", "message", "join"]);
});

Deno.test("Chat.sendTo hands pending broadcasts to that member only, the rest wait for the flush", async () => {
  const { room, runScheduled } = makeRoom();
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  await room.join(a, "a");
  await room.join(b, "b");
  runScheduled();
  a.clear();
  b.clear();
  await room.say(a, "first", "say");
  room.sendTo(b, { type: "pong", id: 1 });
  assert.deepEqual(b.events().map((e) => e.type), ["message", "pong"]);
  assert.deepEqual(a.events(), [], "the others are not flushed by a private send");
  runScheduled();
  assert.deepEqual(a.events().map((e) => e.type), ["message"]);
  assert.deepEqual(b.events().map((e) => e.type), ["message", "pong"], "b gets nothing twice");
});

Deno.test("Chat.leave hands the leaver what was pending, and nothing after", async () => {
  const { room, runScheduled } = makeRoom();
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  await room.join(a, "a");
  await room.join(b, "b");
  runScheduled();
  b.clear();
  await room.say(a, "before", "say");
  await room.leave(b, "quit");
  await room.say(a, "after", "say");
  room.sendTo(b, { type: "pong", id: 2 });
  runScheduled();
  assert.deepEqual(
    b.events().map((e) => e.type === "message" ? e.text : e.type),
    ["before", "pong"],
  );
});

Deno.test("Chat gathers a burst of joins in one turn into one delivery per earlier member", async () => {
  const { room, runScheduled } = makeRoom({ historySize: 0 });
  const early = [new FakeMember("json"), new FakeMember("json")];
  for (const [i, member] of early.entries()) await room.join(member, `e${i}`);
  runScheduled();
  for (const member of early) member.clear();
  const late = [new FakeMember("json"), new FakeMember("json"), new FakeMember("json")];
  for (const [i, member] of late.entries()) await room.join(member, `l${i}`);
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

Deno.test("Chat replays the history with buffers shared by every newcomer", async () => {
  const { room, runScheduled } = makeRoom({ historySize: 2 });
  const a = new FakeMember("json");
  await room.join(a, "a");
  await room.say(a, "one", "say");
  runScheduled();
  const b = new FakeMember("json");
  const c = new FakeMember("json");
  await room.join(b, "b");
  await room.join(c, "c");
  assert.equal(b.deliveries.at(-1), c.deliveries.at(-1), "the same history buffer");
  assert.deepEqual(b.events()[1], {
    type: "message",
    id: 1,
    ts: TS,
    from: "a",
    text: "one",
    kind: "say",
    history: true,
    room: "#main",
  });
});

Deno.test("Chat's welcome lists the members as they are after leaves and renames", async () => {
  const { room, runScheduled } = makeRoom({ motd: "hi" });
  const a = new FakeMember("json");
  const b = new FakeMember("json");
  await room.join(a, "a");
  await room.join(b, "b");
  await room.leave(b, "quit");
  await room.rename(a, "z");
  runScheduled();
  const c = new FakeMember("json");
  await room.join(c, "c");
  const d = new FakeMember("json");
  await room.join(d, "d");
  assert.deepEqual(fixEpoch(c.events()[0]), {
    type: "welcome",
    name: "c",
    server: "unit",
    protocol: 1,
    users: ["z", "c"],
    limits: LIMITS,
    motd: "hi",
    room: "#main",
    features: ["rooms", "resume"],
    epoch: EPOCH,
  });
  const welcome = d.events()[0];
  assert.deepEqual(welcome?.type === "welcome" && welcome.users, ["z", "c", "d"]);
});

Deno.test("Chat.move takes a member to a room: leave moved, moved, its history, join", async () => {
  const { room, runScheduled, joinAll } = makeRoom({ historySize: 5 });
  const [alice, bob, carol] = [
    new FakeMember("json"),
    new FakeMember("json"),
    new FakeMember("line"),
  ];
  await joinAll([alice, "alice"], [bob, "bob"], [carol, "carol"]);
  assert.equal(await room.move(bob, "#Rust"), undefined);
  await room.say(bob, "in rust", "say");
  runScheduled();
  assert.deepEqual(alice.events(), [
    { type: "leave", name: "bob", ts: TS, online: 2, reason: "moved", room: "#main" },
  ]);
  assert.deepEqual(carol.items(), ["* bob went to another room (2 online)"]);
  carol.clear();
  assert.deepEqual(bob.events().map(fixEpoch), [
    { type: "moved", room: "#rust", users: ["bob"], epoch: EPOCH },
    { type: "message", id: 1, ts: TS, from: "bob", text: "in rust", kind: "say", room: "#rust" },
  ]);
  bob.clear();
  await room.move(carol, "rust");
  runScheduled();
  assert.deepEqual(carol.items(), [
    "* you are now in #rust — 2 online: bob, carol",
    "bob: in rust",
  ]);
  assert.deepEqual(bob.events(), [
    { type: "join", name: "carol", ts: TS, online: 2, room: "#rust" },
  ]);
  assert.equal(room.nameOf(carol), "carol");
});

Deno.test("Chat keeps rooms apart: ids, history and messages per room", async () => {
  const { room, runScheduled, joinAll } = makeRoom({ historySize: 5 });
  const [a, b, c, d] = [
    new FakeMember("json"),
    new FakeMember("json"),
    new FakeMember("plain"),
    new FakeMember("json"),
  ];
  await joinAll([a, "a"], [b, "b"], [c, "c"], [d, "d"]);
  await room.say(a, "main one", "say");
  await room.move(b, "#x");
  await room.move(c, "#x");
  const inX = await room.say(b, "x one", "say");
  await room.say(c, "x two", "me");
  const inMain = await room.say(a, "main two", "say");
  runScheduled();
  assert.equal(inX.id, 1, "#x counts from 1");
  assert.equal(inMain.id, 2, "#main goes on from its own last id");
  const texts = (m: FakeMember) =>
    m.events().flatMap((e) => e.type === "message" ? [`${e.room}:${e.text}`] : []);
  assert.deepEqual(texts(d), ["#main:main one", "#main:main two"], "nothing from #x");
  assert.deepEqual(texts(b), ["#main:main one", "#x:x one", "#x:x two"]);
  assert.deepEqual(c.items().filter((l) => l.includes("one") || l.includes("two")), [
    "a: main one",
    "b: x one",
  ], "a text member never sees its own line, and no #main message after it moved");
  const late = new FakeMember("json");
  await room.join(late, "late");
  await room.move(late, "#x");
  const replay = late.events().filter((e) => e.type === "message");
  assert.deepEqual(replay.map((e) => e.type === "message" && e.text), [
    "main one",
    "main two",
    "x one",
    "x two",
  ], "#main's history on join, then #x's on the move");
});

Deno.test("Chat.dm crosses rooms; names stay unique across rooms", async () => {
  const { room, runScheduled, joinAll } = makeRoom();
  const [alice, bob] = [new FakeMember("json"), new FakeMember("json")];
  await joinAll([alice, "alice"], [bob, "bob"]);
  await room.move(bob, "#far");
  runScheduled();
  alice.clear();
  bob.clear();
  const dm = await room.dm(alice, "BOB", "over there?");
  assert.ok(!(dm instanceof ProtocolError));
  runScheduled();
  assert.deepEqual(bob.events(), [dm]);
  assert.deepEqual(alice.events(), [dm]);
  const refused = await room.join(new FakeMember("json"), "Bob");
  assert.ok(refused instanceof ProtocolError && refused.code === "name_taken");
});

Deno.test("Chat.move refuses a bad room name and a room beyond --max-rooms", async () => {
  const { room, joinAll, runScheduled } = makeRoom({ maxRooms: 2 });
  const [a, b] = [new FakeMember("json"), new FakeMember("json")];
  await joinAll([a, "a"], [b, "b"]);
  assert.equal((await room.move(a, "#no space"))?.code, "bad_room");
  assert.equal((await room.move(a, "#" + "x".repeat(33)))?.code, "bad_room");
  assert.equal(await room.move(a, "#one"), undefined);
  const refused = await room.move(b, "#two");
  assert.equal(refused?.code, "too_many_rooms");
  assert.match(refused!.message, /2 rooms/);
  assert.equal(await room.move(b, "#one"), undefined, "an existing room is fine");
  runScheduled();
  assert.equal(await room.move(a, "#main"), undefined);
  assert.equal(await room.move(b, "#main"), undefined);
  assert.equal(await room.move(a, "#two"), undefined, "#one was forgotten when it emptied");
});

Deno.test("Chat.rooms lists every room with its count; who lists one's own room", async () => {
  const { room, chat, runScheduled, joinAll } = makeRoom();
  const [a, b, c] = [new FakeMember("json"), new FakeMember("json"), new FakeMember("json")];
  await joinAll([a, "a"], [b, "b"], [c, "c"]);
  await room.move(b, "#b");
  await room.move(c, "#b");
  runScheduled();
  a.clear();
  c.clear();
  await chat.rooms(a);
  await chat.who(c);
  runScheduled();
  assert.deepEqual(a.events(), [{
    type: "rooms",
    rooms: [{ name: "#b", online: 2 }, { name: "#main", online: 1 }],
  }]);
  assert.deepEqual(c.events(), [{ type: "who", users: ["b", "c"] }]);
});

Deno.test("Chat.join with resume replays what was missed in that room, or says there is a gap", async () => {
  const { chat, room, runScheduled, joinAll } = makeRoom({ historySize: 2, keepMessages: 4 });
  const [alice, bob] = [new FakeMember("json"), new FakeMember("json")];
  await joinAll([alice, "alice"]);
  await room.move(alice, "#ops");
  for (let i = 1; i <= 5; i++) await room.say(alice, `m${i}`, "say");
  runScheduled();
  const moved = alice.events().find((e) => e.type === "moved");
  assert.ok(moved?.type === "moved" && moved.epoch !== undefined);
  const ids = alice.events().flatMap((e) => e.type === "message" ? [e.id] : []);

  // Bob was in #ops and got m1 and m2: he comes back in #ops and gets m3 to m5, no gap.
  await chat.join(bob, "bob", { room: "#ops", after: ids[1]!, epoch: moved.epoch });
  runScheduled();
  const got = bob.events();
  assert.ok(got[0]?.type === "welcome" && got[0].room === "#ops");
  assert.equal(got[0].epoch, moved.epoch);
  assert.deepEqual(
    got.slice(1).map((e) => e.type === "message" ? `${e.text}:${e.history}` : e.type),
    ["m3:true", "m4:true", "m5:true"],
  );

  // Another epoch: a gap, then the recent history (--history 2).
  const carol = new FakeMember("json");
  await chat.join(carol, "carol", { room: "#ops", after: ids[1]!, epoch: "old" });
  runScheduled();
  assert.deepEqual(
    carol.events().slice(1).map((e) =>
      e.type === "message" ? e.text : e.type === "gap" ? `gap:${e.reason}` : e.type
    ),
    ["gap:epoch", "m4", "m5"],
  );

  // Resuming after a message no longer kept: a gap, then everything that is.
  const dave = new FakeMember("json");
  await chat.join(dave, "dave", { room: "#ops", after: 0, epoch: moved.epoch });
  runScheduled();
  assert.deepEqual(
    dave.events().slice(1).map((e) =>
      e.type === "message" ? e.text : e.type === "gap" ? `gap:${e.reason}` : e.type
    ),
    ["gap:trimmed", "m2", "m3", "m4", "m5"],
  );
});
