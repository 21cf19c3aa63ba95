/**
 * Integration tests of `presence` summaries against a real server over TCP: in a room of
 * `--summary-members` or more, the join and leave notices of a moment reach every member as one
 * event (a line of text for a text client), whether or not its `hello` asked, and a client keeps
 * the right list of who is there from them.
 */

import assert from "node:assert/strict";
import {
  closeAll,
  frame,
  joinJson,
  joinLine,
  startTestServer,
  type WireEvent,
} from "./support/net.ts";

/** A client's list of who is there, kept as a client does: `welcome`, then each notice. */
class Kept {
  readonly names = new Set<string>();
  readonly types: string[] = [];
  apply(event: WireEvent): void {
    this.types.push(event.type);
    if (event.type === "welcome") {
      for (const name of event.users as string[]) {
        this.names.add(name);
      }
    }
    if (event.type === "join") this.names.add(event.name as string);
    if (event.type === "leave") this.names.delete(event.name as string);
    if (event.type === "presence") {
      for (const left of event.left as { name: string }[]) this.names.delete(left.name);
      for (const name of event.joined as string[]) this.names.add(name);
    }
  }
}

/** Three frames in one write, so the server reads them in one go and handles them in one turn. */
function together(...events: Record<string, unknown>[]): Uint8Array {
  const frames = events.map((event) => frame(JSON.stringify(event)));
  const bytes = new Uint8Array(frames.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of frames) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

Deno.test("serve presence: a large room's notices of a moment come as one event to everyone", async () => {
  await using server = await startTestServer({ summaryMembers: 3 });
  const sum = await joinJson(server.port, "sum", { hello: { summaries: true } });
  const vee = await joinJson(server.port, "vee");
  const wes = await joinLine(server.port, "wes");
  const clients = [sum.client, vee.client, wes];
  try {
    await wes.waitForLine(/^\* welcome/);
    assert.ok((sum.welcome.features as string[]).includes("presence"));
    const kept = { sum: new Kept(), vee: new Kept() };
    kept.sum.apply(sum.welcome);
    kept.vee.apply(vee.welcome);
    kept.sum.apply(await sum.client.waitForEvent((e) => e.type === "join" && e.name === "vee"));
    kept.sum.apply(await sum.client.waitForEvent((e) => e.type === "join" && e.name === "wes"));
    kept.vee.apply(await vee.client.waitForEvent((e) => e.type === "join" && e.name === "wes"));

    // One notice alone stays a join, even in a room large enough.
    const xan = await joinJson(server.port, "xan");
    clients.push(xan.client);
    const alone = await sum.client.nextEvent();
    assert.equal(alone.type, "join");
    assert.equal(alone.name, "xan");
    kept.sum.apply(alone);
    kept.vee.apply(await vee.client.nextEvent());

    // Out, back and out again in one moment: xan's last notice says it left.
    await xan.client.send(together(
      { type: "room", name: "#a" },
      { type: "room", name: "#main" },
      { type: "room", name: "#a" },
    ));
    const away = await sum.client.nextEvent();
    assert.deepEqual({ ...away, ts: "" }, {
      type: "presence",
      ts: "",
      online: 3,
      joined: [],
      left: [{ name: "xan", reason: "moved" }],
      room: "#main",
    });
    kept.sum.apply(away);
    const awayToVee = await vee.client.nextEvent();
    assert.deepEqual(
      { ...awayToVee, ts: "" },
      { ...away, ts: "" },
      "a client whose hello did not ask gets the same",
    );
    kept.vee.apply(awayToVee);
    await wes.waitForLine("* 1 left: xan (3 online)");
    assert.deepEqual([...kept.sum.names].sort(), ["sum", "vee", "wes"]);

    // And back, out and back: its last notice says it joined.
    await xan.client.send(together(
      { type: "room", name: "#main" },
      { type: "room", name: "#a" },
      { type: "room", name: "#main" },
    ));
    const back = await sum.client.nextEvent();
    assert.deepEqual({ ...back, ts: "" }, {
      type: "presence",
      ts: "",
      online: 4,
      joined: ["xan"],
      left: [],
      room: "#main",
    });
    kept.sum.apply(back);
    kept.vee.apply(await vee.client.nextEvent());
    await wes.waitForLine("* +1 joined: xan (4 online)");

    await vee.client.sendJson({ type: "who" });
    const who = await vee.client.waitForEvent("who");
    const everyone = (who.users as string[]).slice().sort();
    assert.deepEqual(everyone, ["sum", "vee", "wes", "xan"]);
    assert.deepEqual([...kept.sum.names].sort(), everyone);
    assert.deepEqual([...kept.vee.names].sort(), everyone);
  } finally {
    await closeAll(clients);
  }
});

Deno.test("serve presence: below --summary-members, every notice comes on its own", async () => {
  await using server = await startTestServer({ summaryMembers: 10 });
  const sum = await joinJson(server.port, "sum", { hello: { summaries: true } });
  const xan = await joinJson(server.port, "xan");
  try {
    await sum.client.waitForEvent((e) => e.type === "join" && e.name === "xan");
    await xan.client.send(together(
      { type: "room", name: "#a" },
      { type: "room", name: "#main" },
    ));
    assert.equal((await sum.client.nextEvent()).type, "leave");
    assert.equal((await sum.client.nextEvent()).type, "join");
  } finally {
    await closeAll([sum.client, xan.client]);
  }
});
