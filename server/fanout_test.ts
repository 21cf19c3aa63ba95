import assert from "node:assert/strict";
import { FanOut, MEMBERS_PER_TICK, PRESENCE_GATHER_MS, type RoomMember } from "./fanout.ts";
import { MAX_FLUSH_PAUSE_MS, MIN_FLUSH_PAUSE_MS } from "./cpu_budget.ts";
import { Outgoing } from "./outgoing.ts";

const decoder = new TextDecoder();

/** A line-style member that records what it is handed. */
class Recorder implements RoomMember {
  readonly style = "line" as const;
  readonly deliveries: Uint8Array[] = [];
  deliver(bytes: Uint8Array): void {
    this.deliveries.push(bytes);
  }
  lines(): string[] {
    return this.deliveries.flatMap((bytes) => decoder.decode(bytes).split("\n"))
      .filter((line) => line !== "")
      .map((line) => line.replace(/^\* server shutting down: /, ""));
  }
}

/** A fan-out whose ticks run when the test says, with clocks the test moves. */
function makeFanOut() {
  const clocks = { cpu: 0, wall: 1000 };
  const delays: number[] = [];
  const ticks: (() => void)[] = [];
  const afterReadsFlags: boolean[] = [];
  const fanOut = new FanOut({
    monotonicNow: () => clocks.wall,
    cpuNow: () => clocks.cpu,
    schedule: (tick, delayMs, afterReads) => {
      delays.push(delayMs);
      ticks.push(tick);
      afterReadsFlags.push(afterReads);
    },
  });
  const runTick = () => {
    const tick = ticks.shift();
    assert.ok(tick !== undefined, "a tick is scheduled");
    tick();
  };
  return { fanOut, clocks, delays, ticks, afterReadsFlags, runTick };
}

const notice = (text: string) => new Outgoing({ type: "shutdown", message: text });

Deno.test("FanOut serves a large room a slice per tick; each member gets each broadcast once", () => {
  const { fanOut, ticks, runTick } = makeFanOut();
  const members = Array.from({ length: MEMBERS_PER_TICK * 2 + 10 }, () => new Recorder());
  for (const member of members) fanOut.add(member);
  fanOut.broadcast(notice("one"), null);
  runTick();
  assert.equal(members.filter((m) => m.deliveries.length === 1).length, MEMBERS_PER_TICK);
  fanOut.broadcast(notice("two"), null);
  let count = 1;
  for (; ticks.length > 0; count++) runTick();
  assert.equal(count, 4, "the rest of the first round, then the second for the first slice");
  for (const member of members) assert.deepEqual(member.lines(), ["one", "two"]);
  const first = members[0]!.deliveries[0]!;
  assert.equal(members[MEMBERS_PER_TICK - 1]!.deliveries[0], first, "one slice shares one buffer");
  const late = members.at(-1)!;
  assert.equal(late.deliveries.length, 1, "the last slice got both in one write");
  assert.equal(late.deliveries[0], members.at(-2)!.deliveries[0]);
});

Deno.test("FanOut: a member added mid-round gets only what is broadcast after it", () => {
  const { fanOut, runTick, ticks } = makeFanOut();
  const members = Array.from({ length: MEMBERS_PER_TICK + 5 }, () => new Recorder());
  for (const member of members) fanOut.add(member);
  fanOut.broadcast(notice("before"), null);
  runTick();
  const newcomer = new Recorder();
  fanOut.add(newcomer);
  fanOut.broadcast(notice("after"), null);
  while (ticks.length > 0) runTick();
  assert.deepEqual(newcomer.lines(), ["after"]);
  for (const member of members) assert.deepEqual(member.lines(), ["before", "after"]);
});

Deno.test("FanOut.sendTo and remove catch one member up first, and nothing is handed twice", () => {
  const { fanOut, runTick, ticks } = makeFanOut();
  const [a, b, c] = [new Recorder(), new Recorder(), new Recorder()];
  fanOut.add(a);
  fanOut.add(b);
  fanOut.add(c);
  fanOut.broadcast(notice("hello"), null);
  fanOut.sendTo(b, new TextEncoder().encode("private\n"));
  fanOut.remove(c);
  fanOut.broadcast(notice("later"), null);
  assert.deepEqual(a.lines(), [], "the others wait for the tick");
  while (ticks.length > 0) runTick();
  assert.deepEqual(a.lines(), ["hello", "later"]);
  assert.deepEqual(b.lines(), ["hello", "private", "later"]);
  assert.deepEqual(c.lines(), ["hello"], "the leaver got what came before it left");
});

Deno.test("FanOut.remove without hand-over drops a member that nobody reads any more", () => {
  const { fanOut, runTick, ticks } = makeFanOut();
  const [a, gone] = [new Recorder(), new Recorder()];
  fanOut.add(a);
  fanOut.add(gone);
  fanOut.broadcast(notice("hello"), null);
  fanOut.remove(gone, false);
  while (ticks.length > 0) runTick();
  assert.deepEqual(gone.deliveries, [], "nothing is copied for a closed connection");
  assert.deepEqual(a.lines(), ["hello"]);
});

Deno.test("FanOut.flush shares one buffer among members at the same place", () => {
  const { fanOut } = makeFanOut();
  const members = [new Recorder(), new Recorder(), new Recorder()];
  for (const member of members) fanOut.add(member);
  fanOut.broadcast(notice("one"), null);
  fanOut.broadcast(notice("two"), null);
  fanOut.flush();
  const [first, ...others] = members.map((member) => member.deliveries);
  assert.equal(first!.length, 1);
  for (const deliveries of others) assert.equal(deliveries[0], first![0], "the very same bytes");
  assert.deepEqual(members[2]!.lines(), ["one", "two"]);
});

Deno.test("FanOut leaves out the excepted member, and only for that broadcast", () => {
  const { fanOut, runTick } = makeFanOut();
  const [a, b] = [new Recorder(), new Recorder()];
  fanOut.add(a);
  fanOut.add(b);
  fanOut.broadcast(notice("not for a"), a);
  fanOut.broadcast(notice("for all"), null);
  runTick();
  assert.deepEqual(a.lines(), ["for all"]);
  assert.deepEqual(b.lines(), ["not for a", "for all"]);
});

Deno.test("FanOut hands a burst out at once and paces a load that would saturate the core", () => {
  const { fanOut, clocks, delays, runTick } = makeFanOut();
  const member = new Recorder();
  fanOut.add(member);
  // Two messages a tick: they keep coming, so a pause would gather them.
  const send = (text: string) => {
    fanOut.broadcast(notice(text), null);
    fanOut.broadcast(notice(`${text}, again`), null);
    runTick();
  };
  send("quiet");
  assert.equal(delays.at(-1), 0, "an idle server hands out at once");
  clocks.cpu += 12; // the writes of that tick: one message to 1000 members
  clocks.wall += 12;
  send("a burst");
  assert.equal(delays.at(-1), 0, "a burst within the allowance is not paced");
  clocks.cpu += 200; // ticks back to back for 200 ms, every millisecond busy
  clocks.wall += 200;
  send("saturated");
  clocks.wall += 1;
  send("still");
  const pause = delays.at(-1)!;
  assert.ok(pause >= MIN_FLUSH_PAUSE_MS, `a core kept busy is paced (pause ${pause} ms)`);
  clocks.cpu += 10_000; // a stall far beyond any pause
  clocks.wall += 10_000;
  send("after a stall");
  clocks.wall += 1;
  send("right after");
  assert.equal(delays.at(-1), MAX_FLUSH_PAUSE_MS - 1, "never longer than the bound");
  clocks.wall += MAX_FLUSH_PAUSE_MS;
  send("debt paid");
  clocks.wall += 1;
  send("next");
  assert.equal(delays.at(-1), 0, "one stall costs one bounded pause, not a run of them");
  assert.equal(member.lines().length, 16, "nothing lost");
});

Deno.test("FanOut does not pause when nothing keeps arriving: one large fan-out runs on", () => {
  const { fanOut, clocks, delays, runTick } = makeFanOut();
  const member = new Recorder();
  fanOut.add(member);
  for (let i = 0; i < 5; i++) {
    fanOut.broadcast(notice(`alone ${i}`), null);
    runTick();
    clocks.cpu += 200; // far over the budget, but one broadcast a tick: nothing to gather
    clocks.wall += 200;
  }
  assert.deepEqual(delays, [0, 0, 0, 0, 0]);
  assert.equal(member.lines().length, 5);
});

Deno.test("FanOut lets reads in between the slices of a round while messages keep coming", () => {
  const { fanOut, afterReadsFlags, ticks, runTick } = makeFanOut();
  const members = Array.from({ length: MEMBERS_PER_TICK + 5 }, () => new Recorder());
  for (const member of members) fanOut.add(member);
  const round = (...texts: string[]) => {
    for (const text of texts) fanOut.broadcast(notice(text), null);
    afterReadsFlags.length = 0;
    runTick(); // the first slice: what it schedules is the second
    const secondSlice = afterReadsFlags.at(-1);
    while (ticks.length > 0) runTick();
    return secondSlice;
  };
  assert.equal(round("one"), false, "one message: the next slice follows at once");
  assert.equal(round("two", "three"), true, "messages keep coming: the next slice after reads");
  assert.equal(round("four"), false, "back to one at a time");
  assert.ok(members.every((member) => member.lines().length === 4), "nothing lost");
});

/** A JSON member that records the events it is handed. */
class JsonRecorder implements RoomMember {
  readonly style = "json" as const;
  readonly deliveries: Uint8Array[] = [];
  deliver(bytes: Uint8Array): void {
    this.deliveries.push(bytes);
  }
  events(): Record<string, unknown>[] {
    const events: Record<string, unknown>[] = [];
    for (const bytes of this.deliveries) {
      for (let offset = 0; offset < bytes.length;) {
        const length = Number(decoder.decode(bytes.subarray(offset, offset + 64)).trim());
        events.push(JSON.parse(decoder.decode(bytes.subarray(offset + 64, offset + 64 + length))));
        offset += 64 + length;
      }
    }
    return events;
  }
}

const TS = "2030-01-01T00:00:00.000Z";
const joined = (name: string, online: number) =>
  new Outgoing({ type: "join", name, ts: TS, online, room: "#main" });
const left = (name: string, online: number) =>
  new Outgoing({ type: "leave", name, ts: TS, online, reason: "quit", room: "#main" });
const said = (text: string) =>
  new Outgoing({ type: "message", id: 1, ts: TS, from: "ann", text, kind: "say", room: "#main" });

Deno.test("FanOut summarises each run of notices for every member of a large room", () => {
  const fanOut = new FanOut({ schedule: () => {}, summaryMembers: 3 });
  const asked = new JsonRecorder();
  const text = new Recorder();
  fanOut.add(asked);
  fanOut.add(text);
  fanOut.add(new JsonRecorder());
  fanOut.broadcast(joined("bob", 4), null);
  fanOut.broadcast(joined("cy", 5), null);
  fanOut.broadcast(left("bob", 4), null);
  fanOut.broadcast(said("hi"), null);
  fanOut.broadcast(left("dee", 3), null);
  fanOut.broadcast(joined("bob", 4), null);
  fanOut.broadcast(said("again"), null);
  fanOut.broadcast(joined("eve", 5), null);
  fanOut.flush();
  assert.deepEqual(asked.events().map((event) => event.type === "message" ? event.text : event), [
    {
      type: "presence",
      ts: TS,
      online: 4,
      joined: ["cy"],
      left: [{ name: "bob", reason: "quit" }],
      room: "#main",
    },
    "hi",
    {
      type: "presence",
      ts: TS,
      online: 4,
      joined: ["bob"],
      left: [{ name: "dee", reason: "quit" }],
      room: "#main",
    },
    "again",
    { type: "join", name: "eve", ts: TS, online: 5, room: "#main" },
  ]);
  assert.deepEqual(text.lines(), [
    "* +1 joined: cy; 1 left: bob (4 online)",
    "ann: hi",
    "* +1 joined: bob; 1 left: dee (4 online)",
    "ann: again",
    "* eve joined (5 online)",
  ], "a text member gets each summary as one line");
});

Deno.test("FanOut lets a large room's notices wait for company, and a message carries them", () => {
  const scheduled: { tick: () => void; delayMs: number }[] = [];
  const fanOut = new FanOut({
    schedule: (tick, delayMs) => scheduled.push({ tick, delayMs }),
    summaryMembers: 2,
  });
  const members = [new JsonRecorder(), new JsonRecorder()];
  for (const member of members) fanOut.add(member);
  fanOut.broadcast(joined("bob", 3), null);
  fanOut.broadcast(joined("cy", 4), null);
  assert.deepEqual(scheduled.map((s) => s.delayMs), [PRESENCE_GATHER_MS], "one wait, no tick yet");
  fanOut.broadcast(said("hi"), null);
  assert.deepEqual(
    scheduled.map((s) => s.delayMs),
    [PRESENCE_GATHER_MS, 0],
    "a message goes at once",
  );
  scheduled[1]!.tick();
  assert.equal(members[0]!.deliveries.length, 1, "the summary and the message in one write");
  assert.deepEqual(members[0]!.events().map((event) => event.type), ["presence", "message"]);
  scheduled[0]!.tick(); // the wait ends: nothing is left, so it only asks for a tick
  scheduled[2]!.tick();
  assert.equal(members[0]!.deliveries.length, 1, "nothing handed out twice");
  fanOut.broadcast(left("cy", 3), null);
  scheduled.at(-1)!.tick(); // the wait for the leave
  scheduled.at(-1)!.tick(); // the tick it asked for
  assert.deepEqual(members[1]!.events().map((event) => event.type), [
    "presence",
    "message",
    "leave",
  ]);
});

Deno.test("FanOut does not summarise below summaryMembers, nor with 0", () => {
  for (const [summaryMembers, members] of [[3, 2], [0, 5]] as const) {
    const fanOut = new FanOut({ schedule: () => {}, summaryMembers });
    const asked = new JsonRecorder();
    fanOut.add(asked);
    for (let i = 1; i < members; i++) fanOut.add(new JsonRecorder());
    fanOut.broadcast(joined("bob", 4), null);
    fanOut.broadcast(joined("cy", 5), null);
    fanOut.flush();
    assert.deepEqual(asked.events().map((event) => event.type), ["join", "join"]);
  }
});

Deno.test("FanOut hands a raw member each broadcast on its own, never joined", () => {
  const fanOut = new FanOut({ schedule: () => {} });
  const raw = {
    style: "raw" as const,
    deliveries: [] as string[],
    deliver(b: Uint8Array) {
      this.deliveries.push(decoder.decode(b));
    },
  };
  const line = new Recorder();
  fanOut.add(raw);
  fanOut.add(line);
  fanOut.broadcast(new Outgoing({ type: "join", name: "a", ts: "", online: 2 }), null);
  fanOut.broadcast(new Outgoing({ type: "join", name: "b", ts: "", online: 3 }), raw);
  fanOut.broadcast(new Outgoing({ type: "join", name: "c", ts: "", online: 4 }), null);
  fanOut.flush();
  assert.deepEqual(raw.deliveries, ["SERVER~a joined (2 online)", "SERVER~c joined (4 online)"]);
  assert.equal(line.deliveries.length, 1, "a line member gets them in one buffer");
});
