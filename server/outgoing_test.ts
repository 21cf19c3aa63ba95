import assert from "node:assert/strict";
import type { ServerEvent } from "../protocol/events.ts";
import { joinBytes, Outgoing } from "./outgoing.ts";

const events = (): ServerEvent[] => [
  { type: "message", id: 1, ts: "2030-01-01T00:00:00.000Z", from: "al", text: "hi", kind: "say" },
  { type: "join", name: "b\u00e9a", ts: "2030-01-01T00:00:00.001Z", online: 2, room: "#main" },
  {
    type: "message",
    id: 2,
    ts: "2030-01-01T00:00:00.002Z",
    from: "al",
    text: '\u65e5\u672c \u{1f600} \ud800 lone, "quoted", \\ and \n',
    kind: "me",
    room: "#main",
  },
  { type: "notice", text: "x".repeat(5000) },
  { type: "shutdown", message: "" },
];

Deno.test("Outgoing.joinJson gives the frames bytesFor gives, one after another", () => {
  for (const cached of [[], [0], [1, 3], [0, 1, 2, 3, 4]]) {
    const outs = events().map((event) => new Outgoing(event));
    // Frames made before the join are copied; the others are encoded into it.
    for (const i of cached) outs[i]!.bytesFor("json");
    const joined = Outgoing.joinJson(outs);
    const expected = joinBytes(events().map((event) => new Outgoing(event).bytesFor("json")));
    assert.deepEqual(joined, expected, `frames made before: ${cached}`);
    // Each event's own frame is still the same afterwards.
    for (const [i, out] of outs.entries()) {
      assert.deepEqual(out.bytesFor("json"), new Outgoing(events()[i]!).bytesFor("json"));
    }
  }
});

Deno.test("Outgoing.joinJson of one event is its frame, and of many is a new buffer", () => {
  const one = new Outgoing(events()[0]!);
  assert.equal(Outgoing.joinJson([one]), one.bytesFor("json"));
  const outs = events().map((event) => new Outgoing(event));
  const first = Outgoing.joinJson(outs);
  const second = Outgoing.joinJson(outs);
  assert.deepEqual(first, second);
  assert.notEqual(first.buffer, second.buffer, "no buffer is shared with the next join");
});

Deno.test("Outgoing.joinJson of more than its scratch holds joins the frames", () => {
  const big: ServerEvent = { type: "notice", text: "\u00e9".repeat(200_000) };
  const outs = [big, big, events()[0]!].map((event) => new Outgoing(event));
  const expected = joinBytes([big, big, events()[0]!].map((e) => new Outgoing(e).bytesFor("json")));
  assert.deepEqual(Outgoing.joinJson(outs), expected);
});
