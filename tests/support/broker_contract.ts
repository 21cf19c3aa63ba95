/**
 * The broker contract: one test suite that every {@linkcode Broker} implementation runs, so the
 * in-process, persistent and Redis brokers behave the same to the chat core. Call it from the
 * implementation's test file:
 *
 * ```ts ignore
 * brokerContract("in-process", () => {
 *   const hub = new InProcessHub({ keepMessages: 20 });
 *   return { open: (count) => ..., close: async () => {} };
 * });
 * ```
 *
 * Deliveries are awaited with bounded waits, never assumed to be synchronous, so a networked
 * broker passes too. Every test starts from a fresh, empty chat (`open`), and `close` must free
 * everything it made (Deno's sanitizers check).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type Broker,
  MAIN_ROOM,
  type MemberRef,
  type Published,
  type PublishedDirect,
} from "../../core/broker.ts";

/** How an implementation is set up for one test of the contract. */
export interface BrokerFixture {
  /**
   * Brokers for `count` nodes sharing one fresh, empty chat, each with its own node id, each
   * keeping at least 20 messages per room. Called once per test.
   */
  open(count: number): Promise<Broker[]>;
  /** Frees everything `open` made (the brokers are closed by the suite first). */
  close(): Promise<void>;
  /**
   * True for a broker that keeps rooms in a store: a room emptied of members and made again
   * keeps its epoch and history, where the others start it afresh.
   */
  readonly durable?: boolean;
}

/** How long the suite waits for a delivery, in milliseconds. */
export const CONTRACT_WAIT_MS = 5000;

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + CONTRACT_WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits a little to be sure something does NOT arrive: long enough for a networked broker. */
async function settle(brokers: readonly Broker[]): Promise<void> {
  // A round trip through each broker orders this after anything published before it.
  for (const broker of brokers) await broker.rooms();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const say = (from: string, text: string) => ({
  type: "message" as const,
  from,
  text,
  kind: "say" as const,
});

/**
 * Registers the contract's tests for one implementation.
 *
 * @param implementation its name, at the start of every test name
 * @param fixture makes a fixture for one test
 */
export function brokerContract(implementation: string, fixture: () => BrokerFixture): void {
  const durable = fixture().durable === true;
  const test = (name: string, body: (brokers: Broker[]) => Promise<void>, nodes = 1) =>
    Deno.test(`${implementation} broker: ${name}`, async () => {
      const setup = fixture();
      const brokers = await setup.open(nodes);
      try {
        assert.equal(new Set(brokers.map((b) => b.node)).size, nodes, "node ids are distinct");
        await body(brokers);
      } finally {
        for (const broker of brokers) await broker.close();
        await setup.close();
      }
    });

  const member = (broker: Broker, id: number): MemberRef => ({ node: broker.node, id });

  test("a name is held by one member at a time, without regard to case", async ([broker]) => {
    const a = member(broker!, 1);
    const b = member(broker!, 2);
    assert.equal(await broker!.lookupName("alice"), undefined);
    assert.equal(await broker!.claimName("Alice", a), true);
    assert.equal(await broker!.claimName("ALICE", b), false, "another member, another case");
    assert.equal(await broker!.claimName("Alice", a), true, "the holder may claim it again");
    assert.deepEqual(await broker!.lookupName("aLiCe"), { name: "Alice", holder: a });
    await broker!.releaseName("alice", b);
    assert.deepEqual((await broker!.lookupName("alice"))?.holder, a, "only the holder releases");
    await broker!.releaseName("alice", a);
    assert.equal(await broker!.lookupName("alice"), undefined);
    assert.equal(await broker!.claimName("alice", b), true, "a released name is free");
  });

  test("names are unique across nodes", async ([one, two]) => {
    assert.equal(await one!.claimName("bob", member(one!, 1)), true);
    assert.equal(await two!.claimName("BOB", member(two!, 1)), false);
    assert.deepEqual((await two!.lookupName("bob"))?.holder, member(one!, 1));
  }, 2);

  test("a rename moves the name atomically and shows in the member list", async ([broker]) => {
    const a = member(broker!, 1);
    const b = member(broker!, 2);
    await broker!.claimName("alice", a);
    await broker!.claimName("bob", b);
    await broker!.enter(MAIN_ROOM, a, 10);
    await broker!.enter(MAIN_ROOM, b, 10);
    assert.equal(await broker!.renameName("alice", "BOB", a), false, "bob is taken");
    assert.deepEqual(await broker!.members(MAIN_ROOM), ["alice", "bob"], "nothing changed");
    assert.equal(await broker!.renameName("alice", "carol", a), true);
    assert.equal(await broker!.lookupName("alice"), undefined, "the old name is free");
    assert.deepEqual((await broker!.lookupName("carol"))?.holder, a);
    assert.deepEqual(await broker!.members(MAIN_ROOM), ["carol", "bob"]);
    assert.equal(await broker!.renameName("carol", "Carol", a), true, "a change of case");
    assert.deepEqual(await broker!.members(MAIN_ROOM), ["Carol", "bob"]);
    assert.equal(await broker!.renameName("bob", "dave", a), false, "not the holder of bob");
  });

  test("#main always exists; a member is in one room at a time", async ([broker]) => {
    assert.deepEqual(await broker!.rooms(), [{ name: MAIN_ROOM, online: 0 }]);
    const a = member(broker!, 1);
    const b = member(broker!, 2);
    await broker!.claimName("alice", a);
    await broker!.claimName("bob", b);
    assert.deepEqual(await broker!.enter(MAIN_ROOM, a, 10), {
      ok: true,
      online: 1,
      created: false,
      left: null,
    });
    assert.deepEqual(await broker!.enter(MAIN_ROOM, b, 10), {
      ok: true,
      online: 2,
      created: false,
      left: null,
    });
    assert.deepEqual(await broker!.enter("#rust", a, 10), {
      ok: true,
      online: 1,
      created: true,
      left: { room: MAIN_ROOM, online: 1 },
    });
    assert.equal(await broker!.roomOf(a), "#rust");
    assert.deepEqual(await broker!.members(MAIN_ROOM), ["bob"], "entering a room leaves the last");
    assert.deepEqual(await broker!.members("#rust"), ["alice"]);
    assert.deepEqual(await broker!.rooms(), [
      { name: MAIN_ROOM, online: 1 },
      { name: "#rust", online: 1 },
    ]);
    assert.equal(await broker!.leave("#rust", a), 0);
    assert.equal(await broker!.roomOf(a), undefined);
    assert.deepEqual(await broker!.rooms(), [{ name: MAIN_ROOM, online: 1 }], "empty: forgotten");
    assert.equal(await broker!.leave(MAIN_ROOM, b), 0);
    assert.deepEqual(await broker!.rooms(), [{ name: MAIN_ROOM, online: 0 }], "#main stays");
    assert.deepEqual(await broker!.members("#nowhere"), []);
    assert.equal(await broker!.leave("#nowhere", a), 0, "leaving a missing room is harmless");
  });

  test("presence is shared by every node", async ([one, two]) => {
    const a = member(one!, 1);
    const b = member(two!, 1);
    await one!.claimName("alice", a);
    await two!.claimName("bob", b);
    await one!.enter("#ops", a, 10);
    assert.deepEqual(await two!.enter("#ops", b, 10), {
      ok: true,
      online: 2,
      created: false,
      left: null,
    });
    assert.deepEqual(await one!.members("#ops"), ["alice", "bob"]);
    assert.equal(await one!.roomOf(b), "#ops");
  }, 2);

  test("no more than maxRooms rooms exist at once, #main included", async ([broker]) => {
    const a = member(broker!, 1);
    const b = member(broker!, 2);
    await broker!.claimName("alice", a);
    await broker!.claimName("bob", b);
    assert.equal((await broker!.enter("#one", a, 2)).ok, true);
    await broker!.enter(MAIN_ROOM, b, 2);
    assert.deepEqual(await broker!.enter("#two", b, 2), { ok: false, reason: "too_many_rooms" });
    assert.equal(await broker!.roomOf(b), MAIN_ROOM, "a refused member stays where it was");
    assert.equal((await broker!.enter("#two", a, 2)).ok, true, "leaving #one frees its place");
    assert.deepEqual((await broker!.rooms()).map((r) => r.name), [MAIN_ROOM, "#two"]);
    await broker!.enter("#one", a, 2);
    assert.equal((await broker!.enter("#one", b, 2)).ok, true, "an existing room is fine");
    await broker!.enter(MAIN_ROOM, a, 2);
    await broker!.enter(MAIN_ROOM, b, 2);
    assert.equal((await broker!.enter("#two", a, 2)).ok, true, "#one was forgotten");
  });

  test("ids increase per room, shared by messages and private messages", async ([broker]) => {
    const a = member(broker!, 1);
    await broker!.claimName("alice", a);
    await broker!.enter(MAIN_ROOM, a, 10);
    const first = await broker!.nextId(MAIN_ROOM);
    const message = await broker!.publish(MAIN_ROOM, say("alice", "hi"), a);
    assert.ok(message.event.type === "message");
    assert.ok(message.event.id > first, "a message takes the next id");
    const dm = await broker!.sendDirect(
      MAIN_ROOM,
      { type: "dm", from: "alice", to: "alice", text: "x" },
      a,
      a,
    );
    assert.ok(dm.event.id > message.event.id, "a dm takes from the same sequence");
    assert.ok((await broker!.nextId(MAIN_ROOM)) > dm.event.id);
    await broker!.enter("#other", a, 10);
    const other = await broker!.publish("#other", say("alice", "there"), a);
    assert.ok(other.event.type === "message");
    assert.ok(other.event.id < dm.event.id, "another room has its own sequence");
  });

  test(
    "publish stamps the event and delivers it in order to every subscriber of the room",
    async ([one, two]) => {
      const a = member(one!, 1);
      await one!.claimName("alice", a);
      await one!.enter(MAIN_ROOM, a, 10);
      const seenOne: Published[] = [];
      const seenTwo: Published[] = [];
      const seenElsewhere: Published[] = [];
      await one!.subscribe(MAIN_ROOM, (p) => seenOne.push(p));
      const sub = await two!.subscribe(MAIN_ROOM, (p) => seenTwo.push(p));
      await two!.subscribe("#elsewhere", (p) => seenElsewhere.push(p));
      const before = Date.now();
      const join = await one!.publish(MAIN_ROOM, { type: "join", name: "alice", online: 1 }, a);
      assert.equal(join.room, MAIN_ROOM);
      assert.deepEqual(join.origin, a);
      assert.ok(join.event.type === "join" && join.event.room === MAIN_ROOM);
      const ts = Date.parse(join.event.ts);
      assert.ok(join.event.ts === new Date(ts).toISOString(), "ISO 8601 time");
      assert.ok(Math.abs(ts - before) < 60_000, "the broker's clock");
      for (let i = 1; i <= 20; i++) await one!.publish(MAIN_ROOM, say("alice", `m${i}`), a);
      await one!.publish(
        MAIN_ROOM,
        { type: "leave", name: "alice", online: 0, reason: "quit" },
        null,
      );
      await waitFor(
        () => seenOne.length === 22 && seenTwo.length === 22,
        "22 events on both nodes",
      );
      assert.deepEqual(seenTwo.map((p) => p.event), seenOne.map((p) => p.event), "same order");
      const texts = seenTwo.flatMap((p) => p.event.type === "message" ? [p.event.text] : []);
      assert.deepEqual(texts, Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
      const ids = seenTwo.flatMap((p) => p.event.type === "message" ? [p.event.id] : []);
      assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), "ids increase");
      assert.equal(seenTwo.at(-1)!.origin, null);
      assert.equal(seenElsewhere.length, 0, "another room hears nothing");
      await sub.unsubscribe();
      await sub.unsubscribe();
      await one!.publish(MAIN_ROOM, say("alice", "after"), a);
      await waitFor(() => seenOne.length === 23, "the event after unsubscribing");
      await settle([one!, two!]);
      assert.equal(seenTwo.length, 22, "nothing after unsubscribe");
      assert.equal(seenElsewhere.length, 0);
    },
    2,
  );

  test("a subscription outlives its room being forgotten and made again", async ([broker]) => {
    const a = member(broker!, 1);
    await broker!.claimName("alice", a);
    const seen: Published[] = [];
    await broker!.subscribe("#temp", (p) => seen.push(p));
    await broker!.enter("#temp", a, 10);
    await broker!.leave("#temp", a);
    await broker!.publish("#temp", { type: "leave", name: "alice", online: 0, reason: "quit" }, a);
    await broker!.enter("#temp", a, 10);
    await broker!.publish("#temp", say("alice", "back"), a);
    await waitFor(() => seen.length === 2, "the leave and the message");
    assert.deepEqual(seen.map((p) => p.event.type), ["leave", "message"]);
  });

  test("history keeps a room's messages only, oldest first", async ([broker]) => {
    const a = member(broker!, 1);
    await broker!.claimName("alice", a);
    await broker!.enter(MAIN_ROOM, a, 10);
    await broker!.publish(MAIN_ROOM, { type: "join", name: "alice", online: 1 }, a);
    const ids: number[] = [];
    for (let i = 1; i <= 12; i++) {
      const p = await broker!.publish(MAIN_ROOM, say("alice", `m${i}`), a);
      if (p.event.type === "message") ids.push(p.event.id);
    }
    await broker!.publish(MAIN_ROOM, { type: "nick", from: "alice", to: "al" }, a);
    await broker!.sendDirect(
      MAIN_ROOM,
      { type: "dm", from: "alice", to: "alice", text: "secret" },
      a,
      a,
    );
    const last5 = await broker!.history(MAIN_ROOM, { limit: 5 });
    assert.deepEqual(last5.map((m) => m.text), ["m8", "m9", "m10", "m11", "m12"]);
    assert.ok(last5.every((m) => m.type === "message" && m.room === MAIN_ROOM));
    assert.ok(last5.every((m) => m.history === undefined), "the caller marks replays");
    const after = await broker!.history(MAIN_ROOM, { limit: 100, after: ids[9]! });
    assert.deepEqual(after.map((m) => m.text), ["m11", "m12"]);
    assert.deepEqual(
      (await broker!.history(MAIN_ROOM, { limit: 100 })).map((m) => m.text),
      ids.map((_, i) => `m${i + 1}`),
    );
    assert.deepEqual(await broker!.history(MAIN_ROOM, { limit: 0 }), []);
    assert.deepEqual(await broker!.history("#other", { limit: 5 }), [], "per room");
  });

  test("a private message reaches the recipient's node only, stamped", async ([one, two]) => {
    const a = member(one!, 1);
    const b = member(two!, 7);
    await one!.claimName("alice", a);
    await two!.claimName("bob", b);
    await one!.enter(MAIN_ROOM, a, 10);
    await two!.enter("#ops", b, 10);
    const atOne: PublishedDirect[] = [];
    const atTwo: PublishedDirect[] = [];
    await one!.subscribeDirect((p) => atOne.push(p));
    await two!.subscribeDirect((p) => atTwo.push(p));
    const to = await one!.lookupName("BOB");
    assert.ok(to !== undefined);
    const sent = await one!.sendDirect(
      MAIN_ROOM,
      { type: "dm", from: "alice", to: to.name, text: "psst" },
      a,
      to.holder,
    );
    assert.equal(sent.event.to, "bob");
    assert.equal(sent.room, MAIN_ROOM);
    assert.ok(Number.isInteger(sent.event.id) && sent.event.id > 0);
    await waitFor(() => atTwo.length === 1, "the dm at bob's node");
    assert.deepEqual(atTwo[0]!.event, sent.event);
    assert.deepEqual(atTwo[0]!.to, b);
    assert.deepEqual(atTwo[0]!.origin, a);
    await settle([one!, two!]);
    assert.equal(atOne.length, 0, "the sender's node is not sent it");
  }, 2);

  test(
    "closing a node frees its members' names and presence, not the others'",
    async ([one, two]) => {
      const a = member(one!, 1);
      const b = member(two!, 1);
      await one!.claimName("alice", a);
      await two!.claimName("bob", b);
      await one!.enter("#ops", a, 10);
      await two!.enter("#ops", b, 10);
      await one!.close();
      await one!.close();
      assert.equal(await two!.lookupName("alice"), undefined);
      assert.deepEqual(await two!.members("#ops"), ["bob"]);
      assert.deepEqual((await two!.lookupName("bob"))?.holder, b);
    },
    2,
  );

  test("a snapshot is one instant: history, members, epoch and position", async ([one, two]) => {
    const a = member(one!, 1);
    const b = member(two!, 1);
    await one!.claimName("alice", a);
    await two!.claimName("bob", b);
    await one!.enter("#snap", a, 10);
    await two!.enter("#snap", b, 10);
    const seen: Published[] = [];
    await two!.subscribe("#snap", (p) => seen.push(p));
    const first = await one!.publish("#snap", say("alice", "m1"), a);
    const snapshot = await two!.snapshot("#snap", { limit: 10 });
    const later = await one!.publish("#snap", say("alice", "m2"), a);
    assert.deepEqual(snapshot.history.map((m) => m.text), ["m1"]);
    assert.deepEqual(snapshot.users, ["alice", "bob"]);
    assert.ok(snapshot.epoch.length > 0, "a room that exists has an epoch");
    assert.ok(first.position <= snapshot.position, "the first message is in the snapshot");
    assert.ok(later.position > snapshot.position, "the later one is after it");
    await waitFor(() => seen.length === 2, "both messages");
    assert.deepEqual(seen.map((p) => p.position), [first.position, later.position]);
    assert.equal((await one!.snapshot("#snap", { limit: 10 })).epoch, snapshot.epoch, "stable");
    assert.equal(snapshot.trimmedThrough, 0, "nothing was dropped");
    const since = await one!.snapshot("#snap", { limit: 10, after: snapshot.history[0]!.id });
    assert.deepEqual(since.history.map((m) => m.text), ["m2"]);
    await one!.leave("#snap", a);
    await two!.leave("#snap", b);
    await one!.enter("#snap", a, 10);
    const anew = await one!.snapshot("#snap", { limit: 10 });
    if (durable) {
      assert.equal(anew.epoch, snapshot.epoch, "a stored room keeps its epoch");
      assert.deepEqual(anew.history.map((m) => m.text), ["m1", "m2"], "and its history");
    } else {
      assert.notEqual(anew.epoch, snapshot.epoch, "a room made anew has a new epoch");
      assert.deepEqual(anew.history, []);
    }
  }, 2);

  test("a snapshot asked to count says how many kept messages follow an id", async ([broker]) => {
    const a = member(broker!, 1);
    await broker!.claimName("alice", a);
    await broker!.enter(MAIN_ROOM, a, 10);
    const ids: number[] = [];
    for (let i = 1; i <= 60; i++) {
      const p = await broker!.publish(MAIN_ROOM, say("alice", `m${i}`), a);
      if (p.event.type === "message") ids.push(p.event.id);
      // A private message takes an id of the room's sequence too: ids are not a count.
      if (i === 30) {
        await broker!.sendDirect(
          MAIN_ROOM,
          { type: "dm", from: "alice", to: "alice", text: "note" },
          a,
          a,
        );
      }
    }
    const plain = await broker!.snapshot(MAIN_ROOM, { limit: 5 });
    assert.equal(plain.count, undefined, "not counted unless asked");
    const recent = await broker!.snapshot(MAIN_ROOM, { limit: 5, countAfter: ids[49]! });
    assert.deepEqual(recent.history.map((m) => m.text), ["m56", "m57", "m58", "m59", "m60"]);
    assert.equal(plain.history.length, 5);
    assert.equal(recent.count, 10, "m51 to m60");
    const early = await broker!.snapshot(MAIN_ROOM, { limit: 5, countAfter: ids[4]! });
    assert.equal(early.history.length, 5);
    const kept = await broker!.history(MAIN_ROOM, { limit: 1000, after: ids[4]! });
    assert.equal(early.count, kept.length, "every kept message after m5, beyond the limit");
    if (durable) assert.equal(early.count, 55, "the store keeps them all: m6 to m60");
  });

  test("a snapshot tells which messages are no longer kept", async ([broker]) => {
    const a = member(broker!, 1);
    await broker!.claimName("alice", a);
    await broker!.enter(MAIN_ROOM, a, 10);
    const ids: number[] = [];
    // The fixture keeps at least 20 per room; Redis trims whole blocks, so publish plenty.
    for (let i = 1; i <= 250; i++) {
      const p = await broker!.publish(MAIN_ROOM, say("alice", `m${i}`), a);
      if (p.event.type === "message") ids.push(p.event.id);
    }
    const snapshot = await broker!.snapshot(MAIN_ROOM, { limit: 5 });
    assert.deepEqual(snapshot.history.map((m) => m.text), ["m246", "m247", "m248", "m249", "m250"]);
    if (durable) {
      // A store keeps every message until its retention, which runs apart from the broker.
      assert.equal(snapshot.trimmedThrough, 0, "nothing was dropped from the store");
      const all = await broker!.history(MAIN_ROOM, { limit: 1000 });
      assert.equal(all.length, 250, "the store has them all");
    } else {
      assert.ok(snapshot.trimmedThrough >= ids[0]!, "the first message was dropped");
      assert.ok(snapshot.trimmedThrough < ids.at(-20)!, "the last 20 are kept");
    }
  });
}
