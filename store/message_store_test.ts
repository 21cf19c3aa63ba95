import assert from "node:assert/strict";
import { brokerContract } from "../tests/support/broker_contract.ts";
import { InProcessBroker, InProcessHub } from "../core/in_process_broker.ts";
import { MAIN_ROOM, type Published } from "../core/broker.ts";
import { Database, MEMORY } from "./database.ts";
import { MessageStore } from "./message_store.ts";
import type { RoomStore } from "../core/room_store.ts";
import { tempDir } from "../tests/support/temp.ts";

// The in-process broker over a SQLite store runs the same contract as every broker.
brokerContract("in-process with SQLite", () => {
  let db: Database | null = null;
  return {
    durable: true,
    open: (count) => {
      db = Database.open(MEMORY);
      const hub = new InProcessHub({ keepMessages: 20, store: new MessageStore(db) });
      return Promise.resolve(Array.from({ length: count }, (_, i) => hub.node(`node${i}`)));
    },
    close: () => {
      db?.close();
      return Promise.resolve();
    },
  };
});

/** The store with another write. */
function wrap(store: MessageStore, write: RoomStore["write"]): RoomStore {
  return {
    room: (room) => store.room(room),
    messages: (room, after, limit) => store.messages(room, after, limit),
    count: (room, after, before) => store.count(room, after, before),
    trimmedThrough: (room) => store.trimmedThrough(room),
    write,
  };
}

const say = (text: string) => ({
  type: "message" as const,
  from: "ann",
  text,
  kind: "say" as const,
});

Deno.test("MessageStore: ids, epochs and history outlive the broker, read lazily", async () => {
  const dir = tempDir("chat-store-");
  try {
    let epoch: string;
    {
      const db = Database.open(dir);
      const broker = InProcessBroker.create({ keepMessages: 5, store: new MessageStore(db) });
      const ann = { node: broker.node, id: 1 };
      await broker.claimName("ann", ann);
      await broker.enter("#ops", ann, 10);
      for (let i = 1; i <= 12; i++) await broker.publish("#ops", say(`m${i}`), ann);
      epoch = (await broker.snapshot("#ops", { limit: 1 })).epoch;
      await broker.close();
      db.close();
    }
    const db = Database.open(dir);
    const broker = InProcessBroker.create({ keepMessages: 5, store: new MessageStore(db) });
    const bob = { node: broker.node, id: 1 };
    await broker.claimName("bob", bob);
    await broker.enter("#ops", bob, 10);
    const snapshot = await broker.snapshot("#ops", { limit: 3 });
    assert.equal(snapshot.epoch, epoch);
    assert.deepEqual(snapshot.history.map((m) => m.text), ["m10", "m11", "m12"]);
    // Further back than the 5 kept in memory: read from the database.
    const older = await broker.history("#ops", { limit: 100, after: 2 });
    assert.deepEqual(older.map((m) => m.id), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const next = await broker.publish("#ops", say("m13"), bob);
    assert.ok(next.event.type === "message" && next.event.id === 13, "ids go on");
    await broker.close();
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MessageStore: a batch reaches subscribers only once written, in one transaction", async () => {
  const db = Database.open(MEMORY);
  const store = new MessageStore(db);
  let writes = 0;
  const counting = wrap(store, (...args) => {
    writes++;
    store.write(...args);
  });
  const broker = InProcessBroker.create({ store: counting });
  const ann = { node: broker.node, id: 1 };
  await broker.claimName("ann", ann);
  await broker.enter(MAIN_ROOM, ann, 10);
  const seen: Published[] = [];
  await broker.subscribe(MAIN_ROOM, (p) => seen.push(p));
  const all = Array.from({ length: 50 }, (_, i) => broker.publish(MAIN_ROOM, say(`m${i}`), ann));
  assert.equal(seen.length, 0, "nothing is delivered before its batch is written");
  await Promise.all(all);
  assert.equal(seen.length, 50);
  assert.equal(writes, 1, "fifty messages of one turn are one write");
  assert.equal(store.messages(MAIN_ROOM, 0, 100).length, 50);
  await broker.close();
  db.close();
});

Deno.test("MessageStore: a failing write is reported, the chat goes on, and it is retried", async () => {
  const db = Database.open(MEMORY);
  const store = new MessageStore(db);
  let broken = true;
  const failures: number[] = [];
  let recovered = 0;
  const flaky = wrap(store, (...args) => {
    if (broken) throw new Error("disk I/O error");
    store.write(...args);
  });
  const broker = InProcessBroker.create({
    store: flaky,
    report: { failed: (_e, waiting) => failures.push(waiting), recovered: (n) => recovered = n },
  });
  const ann = { node: broker.node, id: 1 };
  await broker.claimName("ann", ann);
  await broker.enter(MAIN_ROOM, ann, 10);
  const published = await broker.publish(MAIN_ROOM, say("kept in memory"), ann);
  assert.equal(published.event.type, "message", "delivered although not written");
  assert.deepEqual(failures, [1]);
  broken = false;
  const deadline = Date.now() + 5000;
  while (recovered === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(recovered, 1, "the retry wrote it");
  assert.deepEqual(store.messages(MAIN_ROOM, 0, 10).map((m) => m.text), ["kept in memory"]);
  await broker.close();
  db.close();
});

Deno.test("MessageStore.trimStep removes past retention in small batches and records it", () => {
  const db = Database.open(MEMORY);
  const store = new MessageStore(db);
  const old = "2020-01-01T00:00:00.000Z";
  const now = new Date().toISOString();
  const messages = Array.from({ length: 30 }, (_, i) => ({
    type: "message" as const,
    id: i + 1,
    ts: i < 10 ? old : now,
    from: "ann",
    text: `m${i + 1}`,
    kind: "say" as const,
    room: MAIN_ROOM,
  }));
  store.write([{ name: MAIN_ROOM, epoch: "e", lastId: 30, trimmed: 0 }], messages);
  assert.equal(store.trimStep({ keepDays: 30, keepMessages: 15 }, new Date()), 15);
  assert.equal(store.trimStep({ keepDays: 30, keepMessages: 15 }, new Date()), 0);
  assert.deepEqual(store.messages(MAIN_ROOM, 0, 100).map((m) => m.id)[0], 16);
  assert.equal(store.trimmedThrough(MAIN_ROOM), 15);
  db.close();
});
