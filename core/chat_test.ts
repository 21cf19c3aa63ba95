import assert from "node:assert/strict";
import type { MessageEvent, ServerEvent, WelcomeEvent } from "../protocol/events.ts";
import type { HistoryQuery, Published, RoomSnapshot } from "./broker.ts";
import { Chat, type ChatMember, type Delivery } from "./chat.ts";
import { InProcessBroker, InProcessHub } from "./in_process_broker.ts";

const TS = "2030-01-02T03:04:05.678Z";

/** A member as the core sees it: a reference, nothing that takes bytes. */
function member(id: number): ChatMember {
  return { ref: { node: "local", id }, active: true };
}

/** A delivery that records, per member, the events it would hand out: no bytes anywhere. */
class RecordingDelivery implements Delivery<ChatMember> {
  readonly rooms = new Map<string, Set<ChatMember>>();
  readonly seen = new Map<ChatMember, ServerEvent[]>();
  #of(m: ChatMember): ServerEvent[] {
    let list = this.seen.get(m);
    if (list === undefined) this.seen.set(m, list = []);
    return list;
  }
  add(room: string, m: ChatMember): void {
    if (!this.rooms.has(room)) this.rooms.set(room, new Set());
    this.rooms.get(room)!.add(m);
  }
  remove(room: string, m: ChatMember): void {
    this.rooms.get(room)?.delete(m);
  }
  publish(published: Published, origin: ChatMember | undefined): void {
    for (const m of this.rooms.get(published.room) ?? []) {
      // The core leaves the per-style rules to delivery; this one leaves out only a joiner.
      if (published.event.type === "join" && m === origin) continue;
      this.#of(m).push(published.event);
    }
  }
  publishTo(m: ChatMember, published: Published, origin: ChatMember | undefined): void {
    if (published.event.type === "join" && m === origin) return;
    this.#of(m).push(published.event);
  }
  send(m: ChatMember, event: ServerEvent): void {
    this.#of(m).push(event);
  }
  welcome(m: ChatMember, welcome: WelcomeEvent): void {
    this.#of(m).push(welcome);
  }
  replay(m: ChatMember, messages: readonly MessageEvent[]): void {
    for (const message of messages) this.#of(m).push({ ...message, history: true });
  }
  types(m: ChatMember): string[] {
    return (this.seen.get(m) ?? []).map((e) => e.type === "message" ? `message:${e.text}` : e.type);
  }
}

function makeChat(maxRooms = 10) {
  const delivery = new RecordingDelivery();
  const broker = InProcessBroker.create({ keepMessages: 10, now: () => new Date(TS) });
  const chat = new Chat<ChatMember>({
    broker,
    historySize: 10,
    maxRooms,
    serverName: "core",
    limits: {
      maxMessageBytes: 4096,
      rateBurst: 10,
      ratePerSecond: 5,
      pingIntervalSeconds: 30,
      idleTimeoutSeconds: 75,
    },
  }, delivery);
  return { chat, delivery, broker };
}

Deno.test("Chat works on event values: join, say, move, dm, leave", async () => {
  const { chat, delivery } = makeChat();
  const [a, b] = [member(1), member(2)];
  assert.deepEqual(await chat.join(a, "alice"), { online: 1 });
  assert.deepEqual(await chat.join(b, "bob"), { online: 2 });
  await chat.say(a, "hi", "say");
  assert.equal(await chat.move(b, "#Side"), undefined);
  assert.equal(chat.roomOf(b), "#side");
  await chat.say(b, "over here", "me");
  const dm = await chat.dm(a, "BOB", "psst");
  assert.ok(!(dm instanceof Error) && dm.to === "bob");
  assert.equal(await chat.leave(b, "quit"), 0);
  assert.deepEqual(delivery.types(a), ["welcome", "join", "message:hi", "leave", "dm"]);
  assert.deepEqual(delivery.types(b), [
    "welcome",
    "message:hi",
    "moved",
    "message:over here",
    "dm",
  ]);
  assert.equal(chat.nameOf(b), undefined);
  assert.equal(chat.size, 1);
});

Deno.test("Chat.join undoes itself when the member's connection closed meanwhile", async () => {
  const { chat, broker } = makeChat();
  const gone = { ref: { node: "local", id: 9 }, active: false };
  assert.deepEqual(await chat.join(gone, "ghost"), { online: 0 });
  assert.equal(chat.nameOf(gone), undefined);
  assert.equal(await broker.lookupName("ghost"), undefined, "the name is free again");
  assert.deepEqual(await broker.members("#main"), []);
});

Deno.test("Chat.leave with announce false tells nobody, and frees the name", async () => {
  const { chat, delivery, broker } = makeChat();
  const [a, b] = [member(1), member(2)];
  await chat.join(a, "alice");
  await chat.join(b, "bob");
  await chat.leave(b, "shutdown", false);
  assert.deepEqual(delivery.types(a), ["welcome", "join"]);
  assert.equal(await broker.lookupName("bob"), undefined);
});

/** An in-process broker whose snapshots wait until the test lets them go. */
class SlowSnapshotBroker extends InProcessBroker {
  gate: Promise<void> | null = null;
  override async snapshot(room: string, query: HistoryQuery): Promise<RoomSnapshot> {
    const taken = await super.snapshot(room, query);
    if (this.gate !== null) await this.gate;
    return taken;
  }
}

Deno.test("Chat hands a joiner the events that crossed its snapshot, once each", async () => {
  const delivery = new RecordingDelivery();
  const broker = new SlowSnapshotBroker(new InProcessHub({ keepMessages: 10 }));
  const chat = new Chat<ChatMember>({
    broker,
    historySize: 10,
    maxRooms: 10,
    serverName: "core",
    limits: {
      maxMessageBytes: 4096,
      rateBurst: 10,
      ratePerSecond: 5,
      pingIntervalSeconds: 30,
      idleTimeoutSeconds: 75,
    },
  }, delivery);
  const [a, b] = [member(1), member(2)];
  await chat.join(a, "alice");
  await chat.say(a, "before", "say");
  let open!: () => void;
  broker.gate = new Promise((resolve) => open = resolve);
  // Bob's snapshot is read, then held up while alice speaks: as with a broker over a network.
  const joining = chat.join(b, "bob");
  await new Promise((resolve) => setTimeout(resolve, 10));
  await chat.say(a, "during", "say");
  broker.gate = null;
  open();
  await joining;
  await chat.say(a, "after", "say");
  assert.deepEqual(delivery.types(b), [
    "welcome",
    "message:before", // the history of the snapshot
    "message:during", // held while bob entered, handed over after the snapshot
    "message:after",
  ]);
});

Deno.test("Chat: a joiner's list stays right when others join and leave while it enters", async () => {
  const delivery = new RecordingDelivery();
  const broker = new SlowSnapshotBroker(new InProcessHub({ keepMessages: 10 }));
  const chat = new Chat<ChatMember>({
    broker,
    historySize: 10,
    maxRooms: 10,
    serverName: "core",
    limits: {
      maxMessageBytes: 4096,
      rateBurst: 10,
      ratePerSecond: 5,
      pingIntervalSeconds: 30,
      idleTimeoutSeconds: 75,
    },
  }, delivery);
  const [alice, bob, carol, dave] = [member(1), member(2), member(3), member(4)];
  await chat.join(alice, "alice");
  await chat.join(dave, "dave");
  let open!: () => void;
  broker.gate = new Promise((resolve) => open = resolve);
  // Bob's snapshot is read, then held up while carol joins and alice leaves.
  const joining = chat.join(bob, "bob");
  await new Promise((resolve) => setTimeout(resolve, 10));
  broker.gate = null;
  await chat.join(carol, "carol");
  await chat.leave(alice, "quit");
  open();
  await joining;
  await chat.leave(dave, "quit");
  // What bob's client would keep: the welcome's list, then each join and leave in order.
  const list = new Set<string>();
  for (const event of delivery.seen.get(bob) ?? []) {
    if (event.type === "welcome") { for (const name of event.users) list.add(name); }
    if (event.type === "join") {
      assert.ok(!list.has(event.name), `a join of "${event.name}", listed already`);
      list.add(event.name);
    }
    if (event.type === "leave") {
      assert.ok(list.has(event.name), `a leave of "${event.name}", not listed`);
      list.delete(event.name);
    }
  }
  assert.deepEqual([...list].sort(), ["bob", "carol"]);
  assert.deepEqual([...await broker.members("#main")].sort(), ["bob", "carol"]);
});

Deno.test("Chat: a resume past 1000 says how many it skipped, unless some were dropped too", async () => {
  for (const [keep, skipped] of [[2000, 200], [1100, undefined]] as const) {
    const delivery = new RecordingDelivery();
    const broker = InProcessBroker.create({ keepMessages: keep, now: () => new Date(TS) });
    const chat = new Chat<ChatMember>({
      broker,
      historySize: 10,
      maxRooms: 10,
      serverName: "core",
      limits: {
        maxMessageBytes: 4096,
        rateBurst: 10,
        ratePerSecond: 5,
        pingIntervalSeconds: 30,
        idleTimeoutSeconds: 75,
      },
    }, delivery);
    const [a, b] = [member(1), member(2)];
    await chat.join(a, "alice");
    const welcome = delivery.seen.get(a)![0] as WelcomeEvent;
    for (let i = 1; i <= 1200; i++) await chat.say(a, `m${i}`, "say");
    await chat.join(b, "bob", { room: "#main", after: 0, epoch: welcome.epoch! });
    const seen = delivery.seen.get(b)!;
    assert.deepEqual(seen[1], {
      type: "gap",
      room: "#main",
      reason: "too_many",
      // With 1100 kept, the first 100 are gone: how many of those were said is not counted.
      ...(skipped === undefined ? {} : { skipped }),
    }, `keeping ${keep}`);
    const replayed = seen.filter((e) => e.type === "message").map((e) => e.text);
    assert.equal(replayed.length, 1000);
    assert.equal(replayed[0], "m201");
    await chat.close();
  }
});
