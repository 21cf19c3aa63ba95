/**
 * Integration tests of rooms against a real server over TCP on port 0, for each kind of client:
 * JSON (`room`, `rooms`, `moved`), plain frame64 and line clients (`/join`, `/part`, `/rooms`),
 * and a version-1 JSON client that knows nothing of rooms and stays in `#main`.
 */

import assert from "node:assert/strict";
import {
  closeAll,
  joinJson,
  joinLine,
  joinPlain,
  startTestServer,
  type WireClient,
  type WireEvent,
} from "./support/net.ts";

/** Moves a JSON client and returns its `moved` event. */
async function moveJson(client: WireClient, room: string): Promise<WireEvent> {
  await client.sendJson({ type: "room", name: room });
  return await client.waitForEvent("moved");
}

Deno.test("serve rooms: a JSON member moves; each room hears only its own", async () => {
  await using server = await startTestServer({ history: 10 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  const carol = await joinJson(server.port, "carol");
  try {
    assert.equal(alice.welcome.room, "#main");
    assert.ok((alice.welcome.features as string[]).includes("rooms"));
    assert.ok((alice.welcome.features as string[]).includes("resume"));
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "carol");
    await bob.client.waitForEvent((e) => e.type === "join" && e.name === "carol");

    await bob.client.sendJson({ type: "room", name: "#Rust" });
    const moved = await bob.client.nextEvent();
    assert.deepEqual(moved, { type: "moved", room: "#rust", users: ["bob"], epoch: moved.epoch });
    assert.match(String(moved.epoch), /^\S+$/);
    const left = await alice.client.nextEvent();
    assert.deepEqual({ ...left, ts: "" }, {
      type: "leave",
      name: "bob",
      ts: "",
      online: 2,
      reason: "moved",
      room: "#main",
    });

    await bob.client.sendJson({ type: "say", text: "rust only" });
    const echo = await bob.client.nextEvent();
    assert.equal(echo.room, "#rust");
    assert.equal(echo.id, 1, "ids are per room");
    await alice.client.sendJson({ type: "say", text: "main only" });
    const mainEcho = await alice.client.nextEvent();
    assert.equal(mainEcho.room, "#main");

    const carolMoved = await moveJson(carol.client, "#rust");
    assert.deepEqual(carolMoved.users, ["bob", "carol"]);
    const replay = await carol.client.nextEvent();
    assert.deepEqual([replay.text, replay.history, replay.room], ["rust only", true, "#rust"]);
    const join = await bob.client.nextEvent();
    assert.deepEqual([join.type, join.name, join.online, join.room], ["join", "carol", 2, "#rust"]);

    await carol.client.sendJson({ type: "rooms" });
    const rooms = await carol.client.nextEvent();
    assert.deepEqual(rooms, {
      type: "rooms",
      rooms: [{ name: "#main", online: 1 }, { name: "#rust", online: 2 }],
    });
    await carol.client.sendJson({ type: "who" });
    assert.deepEqual((await carol.client.nextEvent()).users, ["bob", "carol"]);

    // A dm crosses rooms.
    await alice.client.sendJson({ type: "dm", to: "CAROL", text: "psst" });
    const dm = await carol.client.nextEvent();
    assert.deepEqual([dm.type, dm.from, dm.to, dm.text], ["dm", "alice", "carol", "psst"]);

    // Nothing of #rust ever reached alice, nothing of #main reached bob after he left.
    await alice.client.sendJson({ type: "ping", id: "end" });
    const rest = [];
    for (;;) {
      const event = await alice.client.nextEvent();
      if (event.type === "pong") break;
      rest.push(event);
    }
    assert.deepEqual(
      rest.map((e) => `${e.type} ${e.name ?? e.to}`),
      ["leave carol", "dm carol"],
      "carol leaving #main, and alice's own dm echo",
    );
    const bobTexts = bob.client.received.map((item) => JSON.parse(item))
      .filter((e) => e.type === "message").map((e) => e.text);
    assert.deepEqual(bobTexts, ["rust only"]);
  } finally {
    await closeAll([alice.client, bob.client, carol.client]);
  }
});

Deno.test("serve rooms: bad_room, too_many_rooms, and an empty room is forgotten", async () => {
  await using server = await startTestServer({ maxRooms: 2 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    await alice.client.waitForEvent("join");
    await alice.client.sendJson({ type: "room", name: "#no spaces" });
    const bad = await alice.client.nextEvent();
    assert.deepEqual([bad.type, bad.code], ["error", "bad_room"]);
    assert.match(String(bad.message), /^Room names are "#" then 1 to 32/);
    await moveJson(alice.client, "#one");
    await bob.client.sendJson({ type: "room", name: "#two" });
    const full = await bob.client.waitForEvent("error");
    assert.equal(full.code, "too_many_rooms");
    assert.match(String(full.message), /already 2 rooms/);
    await bob.client.sendJson({ type: "who" });
    assert.deepEqual((await bob.client.waitForEvent("who")).users, ["bob"], "bob stayed in #main");
    await moveJson(alice.client, "#main");
    await moveJson(bob.client, "#two");
    await bob.client.sendJson({ type: "rooms" });
    const rooms = await bob.client.waitForEvent("rooms");
    assert.deepEqual(rooms.rooms, [{ name: "#main", online: 1 }, { name: "#two", online: 1 }]);
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});

for (const style of ["line", "plain"] as const) {
  Deno.test(`serve rooms: a ${style} client uses /join, /rooms and /part`, async () => {
    await using server = await startTestServer({ history: 10 });
    const watcher = await joinJson(server.port, "watcher");
    const text = style === "line"
      ? await joinLine(server.port, "tex")
      : await joinPlain(server.port, "tex");
    const other = await joinJson(server.port, "other");
    try {
      await text.waitForLine("* type /help for commands");
      await moveJson(other.client, "#dev");
      await other.client.sendJson({ type: "say", text: "earlier in dev" });
      await other.client.waitForEvent("message");

      await send(text, style, "/join #dev");
      assert.equal(
        await text.waitForLine("you are now in"),
        "* you are now in #dev — 2 online: other, tex",
      );
      assert.equal(await text.next(), "other: earlier in dev");
      const join = await other.client.waitForEvent("join");
      assert.deepEqual([join.name, join.room], ["tex", "#dev"]);
      const left = await watcher.client.waitForEvent((e) => e.type === "leave" && e.name === "tex");
      assert.deepEqual([left.name, left.reason], ["tex", "moved"]);

      await send(text, style, "in dev now");
      const heard = await other.client.waitForEvent("message");
      assert.deepEqual([heard.from, heard.text, heard.room], ["tex", "in dev now", "#dev"]);

      await send(text, style, "/rooms");
      assert.equal(await text.waitForLine("* rooms"), "* rooms (2): #dev (2), #main (1)");

      await send(text, style, "/join #bad!room");
      assert.match(await text.waitForLine("!"), /^! bad_room: /);

      await send(text, style, "/part");
      assert.equal(
        await text.waitForLine("you are now in"),
        "* you are now in #main — 2 online: tex, watcher",
      );
      await watcher.client.sendJson({ type: "say", text: "back in main" });
      assert.equal(await text.waitForLine("back in main"), "watcher: back in main");
      const texts = watcher.client.received.map((item) => JSON.parse(item))
        .filter((e) => e.type === "message").map((e) => e.text);
      assert.deepEqual(texts, ["back in main"], "nothing said in #dev reached #main");
    } finally {
      await closeAll([watcher.client, text, other.client]);
    }
  });
}

Deno.test("serve rooms: a version-1 JSON client that knows nothing of rooms stays in #main", async () => {
  await using server = await startTestServer();
  // This client sends only version-1 events and reads only the fields version 1 defines.
  const old = await joinJson(server.port, "old", { hello: { client: "v1" } });
  const mover = await joinJson(server.port, "mover");
  try {
    await old.client.waitForEvent("join");
    await moveJson(mover.client, "#elsewhere");
    const leave = await old.client.nextEvent();
    assert.deepEqual([leave.type, leave.name, leave.online], ["leave", "mover", 1]);
    await mover.client.sendJson({ type: "say", text: "not for old" });
    await mover.client.waitForEvent("message");
    await old.client.sendJson({ type: "say", text: "hello?" });
    const echo = await old.client.nextEvent();
    assert.deepEqual([echo.type, echo.from, echo.text, echo.kind], [
      "message",
      "old",
      "hello?",
      "say",
    ]);
    assert.equal(typeof echo.id, "number");
    await old.client.sendJson({ type: "who" });
    assert.deepEqual((await old.client.nextEvent()).users, ["old"]);
  } finally {
    await closeAll([old.client, mover.client]);
  }
});

function send(client: WireClient, style: "line" | "plain", text: string): Promise<void> {
  return style === "line" ? client.sendLine(text) : client.sendFrame(text);
}

Deno.test("serve rooms: moves count against flood control, so hopping rooms is limited", async () => {
  await using server = await startTestServer({ rateBurst: 2, ratePerSecond: 0.5 });
  const hopper = await joinJson(server.port, "hopper");
  try {
    await moveJson(hopper.client, "#a");
    await moveJson(hopper.client, "#b");
    await hopper.client.sendJson({ type: "room", name: "#c" });
    const refused = await hopper.client.nextEvent();
    assert.deepEqual([refused.type, refused.code], ["error", "rate_limited"]);
    await hopper.client.sendJson({ type: "who" });
    const who = await hopper.client.nextEvent();
    assert.deepEqual(who, { type: "who", users: ["hopper"] });
    await hopper.client.sendJson({ type: "rooms" });
    const rooms = await hopper.client.nextEvent();
    assert.deepEqual(rooms.rooms, [{ name: "#b", online: 1 }, { name: "#main", online: 0 }]);
  } finally {
    await hopper.client.close();
  }
});
