/**
 * Integration tests of text clients (line clients like `nc`, and plain frame64 clients like the
 * classic Python socket chat) against `chat serve` over real TCP on port 0: readable lines, the
 * slash commands, name retries, and never their own chat lines back.
 */

import assert from "node:assert/strict";
import { helpLines } from "../core/commands.ts";
import {
  closeAll,
  joinJson,
  joinLine,
  joinPlain,
  startTestServer,
  WireClient,
} from "./support/net.ts";

/** Joins a text client of either style and takes its welcome lines. */
async function joinText(port: number, name: string, style: "line" | "plain") {
  const client = style === "line" ? await joinLine(port, name) : await joinPlain(port, name);
  await client.waitForLine("* type /help for commands");
  return client;
}

for (const style of ["line", "plain"] as const) {
  Deno.test(`serve: a ${style} client uses every slash command`, async () => {
    await using server = await startTestServer({ rateBurst: 100 });
    const alice = await joinJson(server.port, "alice");
    const bob = await joinText(server.port, "bob", style);
    try {
      await alice.client.waitForEvent("join");

      // A line client's CR before the LF is dropped.
      if (style === "line") await bob.send(new TextEncoder().encode("hello all\r\n"));
      else await bob.sendFrame("hello all");
      const said = await alice.client.nextEvent();
      assert.deepEqual([said.type, said.from, said.text, said.kind], [
        "message",
        "bob",
        "hello all",
        "say",
      ]);

      await send(bob, style, "/me waves");
      const action = await alice.client.nextEvent();
      assert.deepEqual([action.type, action.kind, action.text], ["message", "me", "waves"]);

      await send(bob, style, "/msg ALICE secret plan");
      const dm = await alice.client.nextEvent();
      assert.deepEqual([dm.type, dm.from, dm.to, dm.text], ["dm", "bob", "alice", "secret plan"]);
      assert.equal(await bob.next(), "[dm to alice] secret plan");

      await alice.client.sendJson({ type: "dm", to: "BOB", text: "got it" });
      assert.equal(await bob.next(), "[dm] alice: got it");

      await send(bob, style, "/msg nobody hi");
      assert.match(await bob.next(), /^! no_such_user: Nobody called "nobody"/);

      await send(bob, style, "/who");
      assert.equal(await bob.next(), "* online (2): alice, bob");

      await send(bob, style, "/nick robert");
      assert.equal(await bob.next(), "* bob is now known as robert");
      const nick = await alice.client.waitForEvent("nick");
      assert.deepEqual([nick.from, nick.to], ["bob", "robert"]);
      await send(bob, style, "/nick ALICE");
      assert.match(await bob.next(), /^! name_taken: /);
      await send(bob, style, "/nick bad name!");
      assert.match(await bob.next(), /^! bad_name: /);

      await send(bob, style, "/frobnicate");
      assert.match(await bob.next(), /^! bad_command: Unknown command "\/frobnicate": try \/help$/);
      await send(bob, style, "/msg alice");
      assert.match(await bob.next(), /^! bad_command: Usage: \/msg NAME TEXT$/);

      await send(bob, style, "//not a command");
      const slash = await alice.client.waitForEvent("message");
      assert.equal(slash.text, "/not a command");

      await send(bob, style, "/help");
      const help: string[] = [];
      for (let i = 0; i < helpLines().length; i++) help.push(await bob.next());
      const text = help.join("\n");
      const commands = [
        "/nick",
        "/msg",
        "/me",
        "/who",
        "/whois",
        "/help",
        "/quit",
        "/join",
        "/part",
        "/rooms",
      ];
      for (const command of commands) {
        assert.ok(text.includes(command), `/help mentions ${command}:\n${text}`);
      }

      await send(bob, style, "/quit");
      await bob.waitClosed();
      const leave = await alice.client.waitForEvent("leave");
      assert.deepEqual([leave.name, leave.reason, leave.online], ["robert", "quit", 1]);
    } finally {
      await closeAll([alice.client, bob]);
    }
  });

  Deno.test(`serve: a ${style} client never gets its own chat lines back`, async () => {
    await using server = await startTestServer();
    const bob = await joinText(server.port, "bob", style);
    const carol = await joinText(server.port, "carol", style);
    try {
      assert.equal(await bob.next(), "* carol joined (2 online)");
      await send(bob, style, "mine");
      await send(bob, style, "/me mine too");
      assert.equal(await carol.next(), "bob: mine");
      assert.equal(await carol.next(), "* bob mine too");
      await send(carol, style, "theirs");
      // The next thing bob sees is carol's line: his own two were not echoed.
      assert.equal(await bob.next(), "carol: theirs");
      assert.equal(bob.pending, 0);
    } finally {
      await closeAll([bob, carol]);
    }
  });

  Deno.test(`serve: a ${style} client is asked again after a bad or taken name`, async () => {
    await using server = await startTestServer();
    const alice = await joinJson(server.port, "alice");
    const client = style === "line"
      ? await WireClient.connect(server.port, { mode: "line" })
      : await WireClient.connect(server.port);
    try {
      await send(client, style, "Alice");
      assert.match(await client.next(), /^! name_taken: The name "Alice" is taken/);
      assert.equal(await client.next(), "name?");
      if (style === "plain") {
        // A plain client whose name is not valid joins as a guest, and that body is its first
        // message (see serve_text_clients_test.ts); only a line client is asked again.
        await send(client, style, "no spaces please");
        assert.equal(await client.next(), "* welcome, guest-1 — 2 online: alice, guest-1");
        const said = await alice.client.waitForEvent("message");
        assert.deepEqual([said.from, said.text], ["guest-1", "no spaces please"]);
        return;
      }
      await send(client, style, "no spaces please");
      assert.match(await client.next(), /^! bad_name: /);
      assert.equal(await client.next(), "name?");
      await send(client, style, "server");
      assert.match(await client.next(), /^! bad_name: /);
      assert.equal(await client.next(), "name?");
      // Name refusals do not spend the error budget: many retries are fine.
      for (let i = 0; i < 5; i++) {
        await send(client, style, "x y");
        assert.match(await client.next(), /^! bad_name: /);
        assert.equal(await client.next(), "name?");
      }
      await send(client, style, "bob");
      assert.equal(await client.next(), "* welcome, bob — 2 online: alice, bob");
    } finally {
      await closeAll([alice.client, client]);
    }
  });

  Deno.test(`serve: a ${style} client leaves with !DISCONNECT FROM SERVER`, async () => {
    await using server = await startTestServer();
    const alice = await joinJson(server.port, "alice");
    const bob = await joinText(server.port, "bob", style);
    try {
      await alice.client.waitForEvent("join");
      await send(bob, style, "!DISCONNECT FROM SERVER");
      await bob.waitClosed();
      const leave = await alice.client.nextEvent();
      assert.deepEqual([leave.type, leave.name, leave.reason, leave.online], [
        "leave",
        "bob",
        "quit",
        1,
      ]);
    } finally {
      await closeAll([alice.client, bob]);
    }
  });
}

Deno.test("serve: a text client can quit before choosing a name", async () => {
  await using server = await startTestServer();
  const client = await WireClient.connect(server.port);
  try {
    await client.sendFrame("!DISCONNECT FROM SERVER");
    await client.waitClosed();
    assert.equal(client.received.length, 0);
  } finally {
    await client.close();
  }
});

Deno.test("serve: text clients see joins, leaves, actions and dms as prefixed lines", async () => {
  await using server = await startTestServer();
  const watcher = await joinText(server.port, "watcher", "line");
  const alice = await joinJson(server.port, "alice");
  try {
    assert.equal(await watcher.next(), "* alice joined (2 online)");
    await alice.client.sendJson({ type: "me", text: "dances" });
    assert.equal(await watcher.next(), "* alice dances");
    await alice.client.sendJson({ type: "dm", to: "watcher", text: "line one\nline two" });
    assert.deepEqual(
      [await watcher.next(), await watcher.next()],
      ["[dm] alice: line one", "[dm] alice: line two"],
    );
    await alice.client.sendJson({ type: "nick", name: "alicia" });
    assert.equal(await watcher.next(), "* alice is now known as alicia");
    await alice.client.sendJson({ type: "bye" });
    assert.equal(await watcher.next(), "* alicia left (1 online)");
  } finally {
    await closeAll([watcher, alice.client]);
  }
});

Deno.test("serve: --history 0 replays nothing", async () => {
  await using server = await startTestServer({ history: 0 });
  const alice = await joinJson(server.port, "alice");
  try {
    await alice.client.sendJson({ type: "say", text: "gone" });
    await alice.client.waitForEvent("message");
    const bob = await joinJson(server.port, "bob");
    const line = await joinText(server.port, "carol", "line");
    try {
      await alice.client.sendJson({ type: "say", text: "live" });
      const first = await bob.client.waitForEvent((e) => e.type === "message");
      assert.equal(first.text, "live");
      assert.equal(await line.next(), "alice: live");
    } finally {
      await closeAll([bob.client, line]);
    }
  } finally {
    await alice.client.close();
  }
});

Deno.test("serve: the default history keeps the last 50 messages", async () => {
  await using server = await startTestServer({ ratePerSecond: 0 });
  const alice = await joinJson(server.port, "alice");
  try {
    for (let i = 1; i <= 60; i++) await alice.client.sendJson({ type: "say", text: `m${i}` });
    await alice.client.waitForEvent((e) => e.text === "m60");
    const bob = await joinJson(server.port, "bob");
    try {
      const replay: string[] = [];
      for (let i = 0; i < 50; i++) {
        const event = await bob.client.nextEvent();
        assert.equal(event.history, true);
        replay.push(String(event.text));
      }
      assert.equal(replay[0], "m11");
      assert.equal(replay[49], "m60");
      await bob.client.sendJson({ type: "ping", id: "end" });
      assert.deepEqual(await bob.client.nextEvent(), { type: "pong", id: "end" });
    } finally {
      await bob.client.close();
    }
  } finally {
    await alice.client.close();
  }
});

/** Sends one line of input the way the client style does. */
function send(client: WireClient, style: "line" | "plain", text: string): Promise<void> {
  return style === "line" ? client.sendLine(text) : client.sendFrame(text);
}
