/**
 * Integration tests of `chat serve`'s room over real TCP on port 0: JSON, plain and line
 * clients together, every event of the contract, history, the motd and the text commands.
 */

import assert from "node:assert/strict";
import {
  closeAll,
  delay,
  joinJson,
  joinLine,
  joinMany,
  joinPlain,
  startTestServer,
  WireClient,
  type WireEvent,
} from "./support/net.ts";

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Takes events until one of the type arrives; fails on any other type in between. */
async function expectEvent(client: WireClient, type: string): Promise<WireEvent> {
  const event = await client.nextEvent();
  assert.equal(event.type, type, `expected "${type}", got ${JSON.stringify(event)}`);
  return event;
}

Deno.test("serve: JSON, plain and line clients share one room", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  const bob = await joinLine(server.port, "bob");
  const carol = await joinPlain(server.port, "carol");
  try {
    assert.equal(await bob.next(), "* welcome, bob — 2 online: alice, bob");
    assert.equal(await bob.next(), "* type /help for commands");
    assert.equal(await carol.next(), "* welcome, carol — 3 online: alice, bob, carol");
    assert.equal(await carol.next(), "* type /help for commands");
    assert.equal(await bob.next(), "* carol joined (3 online)");

    const bobJoin = await expectEvent(alice.client, "join");
    assert.deepEqual({ ...bobJoin, ts: "" }, {
      type: "join",
      name: "bob",
      ts: "",
      online: 2,
      room: "#main",
    });
    assert.match(String(bobJoin.ts), ISO_TIME);
    const carolJoin = await expectEvent(alice.client, "join");
    assert.equal(carolJoin.name, "carol");
    assert.equal(carolJoin.online, 3);

    await alice.client.sendJson({ type: "say", text: "hi from json" });
    assert.equal(await bob.next(), "alice: hi from json");
    assert.equal(await carol.next(), "alice: hi from json");
    await bob.sendLine("hi from line");
    assert.equal(await carol.next(), "bob: hi from line");
    await carol.sendFrame("hi from plain");
    assert.equal(await bob.next(), "carol: hi from plain");

    const messages: string[] = [];
    for (let i = 0; i < 3; i++) {
      const event = await expectEvent(alice.client, "message");
      messages.push(`${event.from}: ${event.text}`);
    }
    assert.deepEqual(messages, [
      "alice: hi from json",
      "bob: hi from line",
      "carol: hi from plain",
    ]);
  } finally {
    await closeAll([alice.client, bob, carol]);
  }
});

Deno.test("serve: hello gets welcome with the user list, limits and server name", async () => {
  await using server = await startTestServer({
    serverName: "testroom",
    maxMessageBytes: 2000,
    rateBurst: 7,
    ratePerSecond: 3,
    pingInterval: 20,
    idleTimeout: 50,
  });
  const first = await joinJson(server.port, "alice");
  const second = await joinJson(server.port, "Bob", { hello: { client: "test/1" } });
  try {
    assert.deepEqual(first.welcome, {
      type: "welcome",
      name: "alice",
      server: "testroom",
      protocol: 1,
      users: ["alice"],
      limits: {
        maxMessageBytes: 2000,
        rateBurst: 7,
        ratePerSecond: 3,
        pingIntervalSeconds: 20,
        idleTimeoutSeconds: 50,
      },
      room: "#main",
      features: ["rooms", "identity", "tls", "presence", "resume"],
      tls: server.server.certificate?.fingerprint,
      epoch: first.welcome.epoch,
    });
    assert.match(String(first.welcome.epoch), /^\S+$/, "an epoch is a non-empty word");
    assert.deepEqual(second.welcome.users, ["alice", "Bob"]);
    assert.equal(second.welcome.name, "Bob");
    assert.equal("motd" in second.welcome, false);
    // The joiner does not get its own join; the others do.
    const join = await expectEvent(first.client, "join");
    assert.equal(join.name, "Bob");
    assert.equal(join.online, 2);
    await second.client.sendJson({ type: "ping", id: "after-join" });
    assert.deepEqual(await second.client.nextEvent(), { type: "pong", id: "after-join" });
  } finally {
    await closeAll([first.client, second.client]);
  }
});

Deno.test("serve: --motd is in welcome and shown to text clients", async () => {
  await using server = await startTestServer({ motd: "Be kind\nNo spam" });
  const json = await joinJson(server.port, "alice");
  const line = await joinLine(server.port, "bob");
  try {
    assert.equal(json.welcome.motd, "Be kind\nNo spam");
    assert.deepEqual(
      [await line.next(), await line.next(), await line.next(), await line.next()],
      [
        "* welcome, bob — 2 online: alice, bob",
        "* Be kind",
        "* No spam",
        "* type /help for commands",
      ],
    );
  } finally {
    await closeAll([json.client, line]);
  }
});

Deno.test("serve: say and me are echoed to the JSON sender with increasing ids", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    await expectEvent(alice.client, "join");
    await alice.client.sendJson({ type: "say", text: "one" });
    await alice.client.sendJson({ type: "me", text: "waves" });
    const echo1 = await expectEvent(alice.client, "message");
    const echo2 = await expectEvent(alice.client, "message");
    // Frames from two connections have no order between them: Bob speaks after Alice's echoes.
    await bob.client.sendJson({ type: "say", text: "three" });
    const seen3 = await expectEvent(alice.client, "message");
    assert.deepEqual({ ...echo1, ts: "" }, {
      type: "message",
      id: echo1.id,
      ts: "",
      from: "alice",
      text: "one",
      kind: "say",
      room: "#main",
    });
    assert.match(String(echo1.ts), ISO_TIME);
    assert.equal(echo2.kind, "me");
    assert.equal(echo2.text, "waves");
    assert.equal(seen3.from, "bob");
    assert.ok(typeof echo1.id === "number");
    assert.ok(Number(echo2.id) > Number(echo1.id), "ids increase");
    assert.ok(Number(seen3.id) > Number(echo2.id), "ids increase");
    assert.equal("history" in echo1, false, "live messages carry no history flag");

    // Bob sees the same ids, and his own echo.
    const b1 = await expectEvent(bob.client, "message");
    const b2 = await expectEvent(bob.client, "message");
    const b3 = await expectEvent(bob.client, "message");
    assert.deepEqual([b1.id, b2.id, b3.id], [echo1.id, echo2.id, seen3.id]);
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});

Deno.test("serve: a multi-line message is one message, each line prefixed for text", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  const bob = await joinLine(server.port, "bob");
  try {
    await bob.waitForLine("type /help");
    await alice.client.sendJson({ type: "say", text: "first\nsecond\r\nthird" });
    const echo = await alice.client.waitForEvent("message");
    assert.equal(echo.text, "first\nsecond\nthird", "a CR never survives");
    assert.deepEqual(
      [await bob.next(), await bob.next(), await bob.next()],
      ["alice: first", "alice: second", "alice: third"],
    );
    await alice.client.sendJson({ type: "me", text: "waves\nand smiles" });
    assert.deepEqual([await bob.next(), await bob.next()], ["* alice waves", "* alice and smiles"]);
  } finally {
    await closeAll([alice.client, bob]);
  }
});

Deno.test("serve: blank messages are not relayed; terminal controls never pass", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  const bob = await joinLine(server.port, "bob");
  try {
    await bob.waitForLine("type /help");
    await alice.client.sendJson({ type: "say", text: "   " });
    await alice.client.sendJson({ type: "say", text: "\x1b[2J\x1b]0;title\x07\u200b" });
    await alice.client.sendJson({ type: "say", text: "red \x1b[31mtext\x1b[0m bell\x07" });
    await alice.client.sendJson({ type: "say", text: "fake\ralice: forged" });
    await alice.client.sendJson({ type: "say", text: "marker" });
    assert.equal(await bob.next(), "alice: red text bell\ufffd");
    assert.deepEqual([await bob.next(), await bob.next()], ["alice: fake", "alice: alice: forged"]);
    assert.equal(await bob.next(), "alice: marker");
    const echo = await alice.client.waitForEvent("message");
    assert.equal(echo.text, "red text bell\ufffd");
  } finally {
    await closeAll([alice.client, bob]);
  }
});

Deno.test("serve: dm reaches only its recipient, case-insensitively, and shares the id sequence", async () => {
  await using server = await startTestServer();
  const [alice, bob, carol] = await joinMany(server.port, 3, "u");
  try {
    await alice!.waitForEvent((e) => e.type === "join" && e.name === "u2");
    await alice!.sendJson({ type: "say", text: "public" });
    const said = await alice!.waitForEvent("message");
    await alice!.sendJson({ type: "dm", to: "U1", text: "psst" });
    const echo = await expectEvent(alice!, "dm");
    assert.deepEqual({ ...echo, ts: "" }, {
      type: "dm",
      id: Number(said.id) + 1,
      ts: "",
      from: "u0",
      to: "u1",
      text: "psst",
    });
    const got = await bob!.waitForEvent("dm");
    assert.deepEqual(got, echo);
    // Carol gets the public message, and then nothing about the dm.
    await carol!.waitForEvent("message");
    await alice!.sendJson({ type: "say", text: "after" });
    const next = await carol!.waitForEvent((e) => e.type !== "join");
    assert.equal(next.text, "after");
    assert.equal(next.id, Number(echo.id) + 1);
  } finally {
    await closeAll([alice!, bob!, carol!]);
  }
});

Deno.test("serve: dm to nobody gets no_such_user and the connection stays open", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  try {
    await alice.client.sendJson({ type: "dm", to: "ghost", text: "hello?" });
    const error = await alice.client.nextEvent();
    assert.equal(error.type, "error");
    assert.equal(error.code, "no_such_user");
    assert.match(String(error.message), /^[A-Z].*"ghost".*[^.]$/);
    await alice.client.sendJson({ type: "ping", id: 1 });
    assert.deepEqual(await alice.client.nextEvent(), { type: "pong", id: 1 });
  } finally {
    await alice.client.close();
  }
});

Deno.test("serve: nick renames, refuses a taken name (any case) and a bad one", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  const line = await joinLine(server.port, "carol");
  try {
    await line.waitForLine("type /help");
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "carol");
    await bob.client.waitForEvent((e) => e.type === "join" && e.name === "carol");

    await bob.client.sendJson({ type: "nick", name: "ALICE" });
    const taken = await bob.client.nextEvent();
    assert.equal(taken.type, "error");
    assert.equal(taken.code, "name_taken");

    for (const bad of ["", "with space", "admin", "a\u200bb", "x".repeat(33)]) {
      await bob.client.sendJson({ type: "nick", name: bad });
      const error = await bob.client.nextEvent();
      assert.equal(error.type, "error", bad);
      assert.equal(error.code, "bad_name", `${JSON.stringify(bad)}: ${JSON.stringify(error)}`);
    }

    await bob.client.sendJson({ type: "nick", name: "robert" });
    const change = await bob.client.nextEvent();
    assert.deepEqual({ ...change, ts: "" }, { type: "nick", from: "bob", to: "robert", ts: "" });
    assert.deepEqual(
      { ...(await alice.client.nextEvent()), ts: "" },
      { type: "nick", from: "bob", to: "robert", ts: "" },
    );
    assert.equal(await line.next(), "* bob is now known as robert");

    // The old name is free again, and the new one is used everywhere.
    await alice.client.sendJson({ type: "dm", to: "ROBERT", text: "hi robert" });
    const dm = await bob.client.nextEvent();
    assert.equal(dm.to, "robert");
    await bob.client.sendJson({ type: "who" });
    assert.deepEqual(await bob.client.nextEvent(), {
      type: "who",
      users: ["alice", "robert", "carol"],
    });
    const again = await joinJson(server.port, "Bob");
    await again.client.close();
  } finally {
    await closeAll([alice.client, bob.client, line]);
  }
});

Deno.test("serve: who lists everyone; ping before and after hello gets pong", async () => {
  await using server = await startTestServer();
  const early = await WireClient.connect(server.port);
  const alice = await joinJson(server.port, "alice");
  try {
    await early.sendJson({ type: "ping", id: "early" });
    assert.deepEqual(await early.nextEvent(), { type: "pong", id: "early" });
    await early.sendJson({ type: "ping" });
    assert.deepEqual(await early.nextEvent(), { type: "pong" });
    await early.sendJson({ type: "hello", name: "zed", protocol: 1 });
    const welcome = await early.nextEvent();
    assert.deepEqual(welcome.users, ["alice", "zed"]);
    await alice.client.waitForEvent("join");
    await alice.client.sendJson({ type: "who" });
    assert.deepEqual(await alice.client.nextEvent(), { type: "who", users: ["alice", "zed"] });
    // A pong from the client is accepted silently.
    await alice.client.sendJson({ type: "pong", id: "k1" });
    await alice.client.sendJson({ type: "ping", id: 42 });
    assert.deepEqual(await alice.client.nextEvent(), { type: "pong", id: 42 });
  } finally {
    await closeAll([early, alice.client]);
  }
});

Deno.test("serve: events before hello get not_joined; a bad hello can be retried", async () => {
  await using server = await startTestServer();
  const client = await WireClient.connect(server.port);
  const alice = await joinJson(server.port, "alice");
  try {
    await client.sendJson({ type: "say", text: "too early" });
    const error = await client.nextEvent();
    assert.equal(error.type, "error");
    assert.equal(error.code, "not_joined");
    await client.sendJson({ type: "hello", name: "ALICE", protocol: 1 });
    assert.equal((await client.nextEvent()).code, "name_taken");
    await client.sendJson({ type: "hello", name: "bad name", protocol: 1 });
    assert.equal((await client.nextEvent()).code, "bad_name");
    await client.sendJson({ type: "hello", name: "root", protocol: 1 });
    assert.equal((await client.nextEvent()).code, "bad_name");
    await client.sendJson({ type: "hello", name: "bob", protocol: 1 });
    assert.equal((await client.nextEvent()).type, "welcome");
    await client.sendJson({ type: "hello", name: "bob2", protocol: 1 });
    assert.equal((await client.nextEvent()).type, "error", "a second hello is refused");
  } finally {
    await closeAll([client, alice.client]);
  }
});

Deno.test("serve: bye leaves with reason quit and the server closes; a drop is closed", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  const carol = await joinJson(server.port, "carol");
  const line = await joinLine(server.port, "dave");
  try {
    await line.waitForLine("type /help");
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "dave");

    await bob.client.sendJson({ type: "bye" });
    await bob.client.waitClosed();
    const quit = await alice.client.nextEvent();
    assert.deepEqual({ ...quit, ts: "" }, {
      type: "leave",
      name: "bob",
      ts: "",
      online: 3,
      reason: "quit",
      room: "#main",
    });
    assert.equal(await line.next(), "* bob left (3 online)");

    await carol.client.close();
    const closed = await alice.client.nextEvent();
    assert.equal(closed.type, "leave");
    assert.equal(closed.name, "carol");
    assert.equal(closed.reason, "closed");
    assert.equal(closed.online, 2);
    assert.equal(await line.next(), "* carol left: closed (2 online)");
    await waitForCount(server.server, 2);
  } finally {
    await closeAll([alice.client, bob.client, carol.client, line]);
  }
});

async function waitForCount(server: { readonly connections: number }, count: number) {
  for (let i = 0; i < 500 && server.connections !== count; i++) await delay(10);
  assert.equal(server.connections, count);
}

Deno.test("serve: history replays the last messages with history: true, oldest first", async () => {
  await using server = await startTestServer({ history: 3 });
  const alice = await joinJson(server.port, "alice");
  try {
    for (let i = 1; i <= 5; i++) await alice.client.sendJson({ type: "say", text: `m${i}` });
    await alice.client.sendJson({ type: "dm", to: "alice", text: "note to self" });
    let last: WireEvent | undefined;
    for (let i = 0; i < 6; i++) last = await alice.client.nextEvent();
    assert.equal(last?.type, "dm");

    const bob = await joinJson(server.port, "bob");
    try {
      const replay = [
        await bob.client.nextEvent(),
        await bob.client.nextEvent(),
        await bob.client.nextEvent(),
      ];
      assert.deepEqual(replay.map((e) => [e.type, e.text, e.history]), [
        ["message", "m3", true],
        ["message", "m4", true],
        ["message", "m5", true],
      ]);
      assert.ok(Number(replay[0]!.id) < Number(replay[2]!.id));
      // Then live events: nothing from the dm, and live messages without the flag.
      await alice.client.sendJson({ type: "say", text: "live" });
      const live = await bob.client.nextEvent();
      assert.equal(live.text, "live");
      assert.equal("history" in live, false);

      // A text client sees history as ordinary lines after the welcome.
      const line = await joinLine(server.port, "carol");
      try {
        assert.match(await line.next(), /^\* welcome, carol/);
        assert.equal(await line.next(), "* type /help for commands");
        assert.deepEqual(
          [await line.next(), await line.next(), await line.next()],
          ["alice: m4", "alice: m5", "alice: live"],
        );
      } finally {
        await line.close();
      }
    } finally {
      await bob.client.close();
    }
  } finally {
    await alice.client.close();
  }
});

/** True when this machine can listen on IPv6 loopback. */
function hasIPv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "serve: clients over IPv6 loopback join, chat, and are logged in brackets",
  ignore: !hasIPv6Loopback(),
  async fn() {
    await using server = await startTestServer({ host: "::1" });
    const alice = await joinJson(server.port, "alice", { hostname: "::1" });
    const bob = await joinJson(server.port, "bob", { hostname: "::1" });
    try {
      await bob.client.sendJson({ type: "say", text: "over v6" });
      const message = await alice.client.waitForEvent("message");
      assert.equal(message.text, "over v6");
      assert.ok(
        server.logLines.some((line) => /connect peer=\[::1\]:\d+ /.test(line)),
        server.logLines.join("\n"),
      );
    } finally {
      await closeAll([alice.client, bob.client]);
    }
  },
});
