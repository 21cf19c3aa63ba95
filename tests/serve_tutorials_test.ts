/**
 * Every seed tutorial's client (`tests/tutorials/*.py`, each written in its tutorial's own
 * shape) against `main.ts serve` as a process, with a `chat join --json` member in the same room
 * that sees them and answers. Ignored, with the reason printed, where python3 is missing.
 *
 * What a raw client prints is matched anywhere in its output, not as whole lines: the server sends
 * each event in a write of its own, a little apart, but a loaded machine may still hand two of
 * them to one `recv`, and that is the kernel's doing, not a lost or changed event.
 */

import assert from "node:assert/strict";
import { ServeProcess, type WireEvent } from "./support/net.ts";
import { JsonMember, pythonMissing, TutorialClient } from "./support/processes.ts";

const missing = pythonMissing();
if (missing !== undefined) {
  // deno-lint-ignore no-console
  console.log(`serve_tutorials_test ignored: ${missing}`);
}

const GUEST = /^guest-\d+$/;

/** A server, the member `bob` (joined) and a tutorial client, all closed at the end. */
async function withRoom(
  script: string,
  run: (room: { server: ServeProcess; bob: JsonMember; client: TutorialClient }) => Promise<void>,
): Promise<void> {
  await using server = await ServeProcess.start(["--greet-after", "0.5"]);
  const bob = new JsonMember(server.port, "bob");
  let client: TutorialClient | undefined;
  try {
    await bob.waitForEvent((e) => e.type === "welcome", "bob's welcome");
    client = new TutorialClient(script, server.port);
    await run({ server, bob, client });
  } finally {
    await client?.close();
    await bob.close();
  }
}

/** The chat messages bob has seen from `name`, in order. */
function textsFrom(bob: JsonMember, name: string): string[] {
  return bob.events.filter((e) => e.type === "message" && e.from === name).map((e) =>
    String(e.text)
  );
}

/** Waits until bob has seen `count` messages from `name`. */
async function waitForCount(bob: JsonMember, name: string, count: number): Promise<void> {
  await bob.waitForEvent(
    () => textsFrom(bob, name).length >= count,
    `${count} messages from ${name}`,
  );
}

/** The guest name bob saw join. */
async function guestJoined(bob: JsonMember): Promise<string> {
  const join = await bob.waitForEvent(
    (e) => e.type === "join" && GUEST.test(String(e.name)),
    "a guest to join",
  );
  return String(join.name);
}

const leaveOf = (name: string) => (e: WireEvent) => e.type === "leave" && e.name === name;

Deno.test({
  name: "tutorial 000 (64-byte header, no name): joins as a guest, every message reaches bob",
  ignore: missing !== undefined,
  async fn() {
    await withRoom("header64_client.py", async ({ bob, client }) => {
      const guest = await guestJoined(bob);
      const script = ["Hello World!", "Hello Everyone!", "Hello World!", "Hello Saundra!"];
      // bob answers each message, so each of the client's recv(2048) calls has something.
      for (let i = 0; i < script.length; i++) {
        await waitForCount(bob, guest, i + 1);
        await bob.say(`re ${i + 1}`);
        // The tutorial's input() calls, after its first and third messages.
        if (i === 0 || i === 2) await client.type("");
      }
      const leave = await bob.waitForEvent(leaveOf(guest), "the guest to leave");
      assert.equal(leave.reason, "quit", "!DISCONNECT FROM SERVER is a goodbye");
      assert.equal(await client.finish(), 0, client.stderr);
      assert.deepEqual(textsFrom(bob, guest), script);
      assert.match(client.stdout, new RegExp(`\\* welcome, ${guest}`));
      assert.match(client.stdout, new RegExp(`\\* you are ${guest}; choose a name with /nick`));
      assert.match(client.stdout, /bob: re 1/);
      assert.match(client.stdout, /^DONE$/m);
    });
  },
});

Deno.test({
  name: "tutorial 001 (nickname in every message, threads): greeted, chats as a guest",
  ignore: missing !== undefined,
  async fn() {
    await withRoom("nickname_client.py", async ({ bob, client }) => {
      await client.type("neo"); // "Choose your nickname: ", asked before connecting
      // It waits for the server to speak first: the greeting comes after --greet-after.
      await client.waitForStdout(/name\?/);
      await client.type("hello from neo");
      const guest = await guestJoined(bob);
      await waitForCount(bob, guest, 1);
      assert.deepEqual(textsFrom(bob, guest), ["neo: hello from neo"]);
      await bob.say("hi neo");
      // Usually one recv(2048) per event (see the module doc for why not always).
      await client.waitForStdout(/bob~hi neo/);
      await client.type("bye");
      await waitForCount(bob, guest, 2);
      // Nothing it can type ends it (every line gets "neo: " in front): its person closes it.
      client.kill();
      await client.finish();
      const leave = await bob.waitForEvent(leaveOf(guest), "the guest to leave");
      assert.equal(leave.reason, "closed");
      assert.match(client.stdout, new RegExp(`SERVER~you are ${guest}; choose a name`));
      assert.ok(!client.stdout.includes("~neo: hello"), "its own messages never come back");
    });
  },
});

Deno.test({
  name: "tutorial 002 (username first, split on ~): greeted while typing, chats, disconnects",
  ignore: missing !== undefined,
  async fn() {
    await withRoom("tilde_client.py", async ({ server, bob, client }) => {
      await client.waitForStdout("Successfully connected");
      // Its person is slow to type a name: the greeting is sent meanwhile.
      await server.waitForStderr(/greeted/);
      await client.type("trinity");
      await bob.waitForEvent((e) => e.type === "join" && e.name === "trinity", "trinity");
      // The greeting and every reply split on "~" without killing the listener thread.
      await client.waitForStdout("[SERVER] Welcome to chat.");
      await client.waitForStdout("[SERVER] welcome, trinity — 2 online: bob, trinity");
      await bob.say("hello trinity");
      await client.waitForStdout(/^\[bob\] hello trinity$/m);
      await client.type("hi bob");
      await bob.waitForMessage("trinity", "hi bob");
      await client.type("!DISCONNECT FROM SERVER");
      const leave = await bob.waitForEvent(leaveOf("trinity"), "trinity to leave");
      assert.equal(leave.reason, "quit");
      await client.waitForStdout("Message recevied from client is empty");
      await client.type(""); // its loop ends on an empty message
      assert.equal(await client.finish(), 0, client.stderr);
      assert.ok(!client.stdout.includes("[trinity] hi bob"), "nothing echoed back");
      assert.ok(!client.stderr.includes("IndexError"), client.stderr);
    });
  },
});

Deno.test({
  name: "tutorial 003 (chat room client, recv thread): its name first, /who, /quit",
  ignore: missing !== undefined,
  async fn() {
    await withRoom("chatroom_client.py", async ({ bob, client }) => {
      await client.type("morpheus");
      await bob.waitForEvent((e) => e.type === "join" && e.name === "morpheus", "morpheus");
      await client.waitForStdout(/SERVER~welcome, morpheus — 2 online: bob, morpheus/);
      await client.type("/who");
      await client.waitForStdout(/SERVER~online \(2\): bob, morpheus/);
      await bob.say("welcome morpheus");
      await client.waitForStdout(/bob~welcome morpheus/);
      await client.type("hello all ✓");
      await bob.waitForMessage("morpheus", "hello all ✓");
      await client.type("/quit");
      const leave = await bob.waitForEvent(leaveOf("morpheus"), "morpheus to leave");
      assert.equal(leave.reason, "quit");
      await client.waitForStdout("DISCONNECTED");
      assert.equal(await client.finish(), 0, client.stderr);
      assert.ok(!client.stdout.includes("morpheus~"), "nothing echoed back");
    });
  },
});

Deno.test({
  name: "tutorial 004 (simple client, recv(1024)): a guest that renames itself and acts",
  ignore: missing !== undefined,
  async fn() {
    await withRoom("simple_client.py", async ({ bob, client }) => {
      await client.type("Hello everyone!");
      const guest = await guestJoined(bob);
      await bob.waitForMessage(guest, "Hello everyone!");
      await client.waitForStdout(new RegExp(`SERVER~you are ${guest}; choose a name`));
      await client.type("/nick dave");
      const nick = await bob.waitForEvent((e) => e.type === "nick", "the rename");
      assert.deepEqual([nick.from, nick.to], [guest, "dave"]);
      await bob.say("hi dave");
      await client.waitForStdout(/bob~hi dave/);
      await client.type("/me waves");
      const action = await bob.waitForEvent(
        (e) => e.type === "message" && e.kind === "me",
        "the action",
      );
      assert.deepEqual([action.from, action.text], ["dave", "waves"]);
      await client.type("/quit");
      const leave = await bob.waitForEvent(leaveOf("dave"), "dave to leave");
      assert.equal(leave.reason, "quit");
      await client.waitForStdout("DISCONNECTED");
      assert.equal(await client.finish(), 0, client.stderr);
    });
  },
});
