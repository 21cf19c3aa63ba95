/**
 * Raw clients, guest names, the greeting of a silent connection, telnet commands in line mode
 * and sorted name lists, over real sockets against a real server (issues 12 and 13).
 */

import assert from "node:assert/strict";
import { DO, IAC, TIMING_MARK, WILL, WONT } from "../protocol/telnet.ts";
import { GREETING_TEXT } from "../server/greeting.ts";
import { encodeFrame } from "../protocol/frame64.ts";
import {
  closeAll,
  joinJson,
  joinLine,
  startTestServer,
  waitUntil,
  WireClient,
} from "./support/net.ts";
import { hasBytes, RawSocket } from "./support/raw_socket.ts";

const BREAK = 243;
const SUPPRESS_GO_AHEAD = 3;
const NAWS = 31;

Deno.test("raw: bare bytes and a pause make a raw client; bursts are messages, replies NAME~TEXT", async () => {
  await using server = await startTestServer({ quiet: true });
  const alice = (await joinJson(server.port, "alice")).client;
  const carol = await RawSocket.connect(server.port);
  try {
    await carol.write("carol");
    await carol.waitForText("SERVER~welcome, carol — 2 online: alice, carol\ntype /help");
    assert.equal((await alice.waitForEvent("join")).name, "carol");
    await carol.write("hi all, two\nlines");
    const said = await alice.waitForEvent("message");
    assert.deepEqual([said.from, said.text], ["carol", "hi all, two\nlines"]);
    await alice.sendJson({ type: "say", text: "hey carol" });
    await carol.waitForText("alice~hey carol");
    await carol.write("/me waves");
    const action = await alice.waitForEvent((e) => e.type === "message" && e.from === "carol");
    assert.deepEqual([action.kind, action.text], ["me", "waves"]);
    await alice.sendJson({ type: "me", text: "bows" });
    await carol.waitForText("alice~* alice bows");
    await carol.write("/msg alice psst");
    assert.equal((await alice.waitForEvent("dm")).text, "psst");
    await alice.sendJson({ type: "dm", to: "carol", text: "back" });
    await carol.waitForText("alice~[dm] back");
    await carol.write("!DISCONNECT FROM SERVER");
    const leave = await alice.waitForEvent("leave");
    assert.deepEqual([leave.name, leave.reason], ["carol", "quit"]);
    await carol.waitClosed();
    assert.ok(!carol.text.includes("carol~"), `nothing echoed back: ${carol.text}`);
  } finally {
    await closeAll([alice]);
    await carol.close();
  }
});

Deno.test("raw: a LF before the pause keeps a line client", async () => {
  // A long pause, so the test cannot be slower than it.
  await using server = await startTestServer({ quiet: true, rawPause: 5 });
  const dave = await RawSocket.connect(server.port);
  try {
    await dave.write("da");
    await dave.write("ve\n");
    await dave.waitForText("* welcome, dave — 1 online: dave\n");
  } finally {
    await dave.close();
  }
});

Deno.test("raw: a burst over --max-message-bytes is refused like an over-long line", async () => {
  await using server = await startTestServer({ quiet: true, maxMessageBytes: 64 });
  const alice = (await joinJson(server.port, "alice")).client;
  const erin = await RawSocket.connect(server.port);
  try {
    await erin.write("erin");
    await erin.waitForText("SERVER~welcome, erin");
    await erin.write("x".repeat(65));
    await erin.waitForText("SERVER~! too_large: Message is longer than the limit of 64 bytes");
    await erin.waitClosed();
    const leave = await alice.waitForEvent("leave");
    assert.deepEqual([leave.name, leave.reason], ["erin", "error"]);
  } finally {
    await closeAll([alice]);
    await erin.close();
  }
});

Deno.test("guests: plain and raw clients that never send a name chat as guest-N", async () => {
  await using server = await startTestServer({ quiet: true });
  const alice = (await joinJson(server.port, "alice")).client;
  // Someone already has guest-1: it is skipped.
  const squatter = (await joinJson(server.port, "guest-1")).client;
  const plain = await WireClient.connect(server.port);
  const raw = await RawSocket.connect(server.port);
  try {
    await plain.sendFrame("Hello World!");
    assert.equal(await plain.next(), "* welcome, guest-2 — 3 online: alice, guest-1, guest-2");
    assert.equal(await plain.next(), "* type /help for commands");
    assert.equal(await plain.next(), "* you are guest-2; choose a name with /nick NAME");
    const first = await alice.waitForEvent("message");
    assert.deepEqual([first.from, first.text], ["guest-2", "Hello World!"]);
    await raw.write("hello there!");
    await raw.waitForText("SERVER~you are guest-3; choose a name with /nick NAME");
    const second = await alice.waitForEvent("message");
    assert.deepEqual([second.from, second.text], ["guest-3", "hello there!"]);
    await raw.write("/nick frank");
    const nick = await alice.waitForEvent("nick");
    assert.deepEqual([nick.from, nick.to], ["guest-3", "frank"]);
  } finally {
    await closeAll([alice, squatter, plain]);
    await raw.close();
  }
});

Deno.test("guests: a taken name is still refused, a JSON-looking raw name too, a line client is asked", async () => {
  await using server = await startTestServer({ quiet: true });
  const alice = (await joinJson(server.port, "alice")).client;
  const plain = await WireClient.connect(server.port);
  const raw = await RawSocket.connect(server.port);
  const line = await joinLine(server.port, "not a name");
  try {
    await plain.sendFrame("ALICE");
    assert.match(await plain.next(), /^! name_taken: /);
    assert.equal(await plain.next(), "name?");
    await raw.write('{"type":"hello","name":"x"}');
    await raw.waitForText(/^SERVER~! bad_name: .*SERVER~name\?$/s);
    // Nothing visible is no message either.
    await raw.write("\x00\u200b");
    await raw.waitForText(/SERVER~name\?SERVER~! bad_name: .*SERVER~name\?$/s);
    assert.match(await line.next(), /^! bad_name: /);
    assert.equal(await line.next(), "name?");
  } finally {
    await closeAll([alice, plain, line]);
    await raw.close();
  }
});

Deno.test("greeting: a silent connection is greeted, given a fresh handshake deadline, told when it ends", async () => {
  await using server = await startTestServer({
    quiet: true,
    greetAfter: 0.3,
    handshakeTimeout: 0.8,
  });
  const connected = Date.now();
  const nc = await RawSocket.connect(server.port);
  try {
    await nc.waitForText(GREETING_TEXT);
    const greetedAfter = Date.now() - connected;
    assert.ok(greetedAfter >= 300, `greeted after ${greetedAfter} ms`);
    assert.ok(GREETING_TEXT.endsWith("name?\n"));
    await nc.waitForText(/! timeout: [^\n]+\n$/);
    await nc.waitClosed();
    // Closed no sooner than the handshake deadline counted from the greeting.
    const closedAfter = Date.now() - connected;
    assert.ok(closedAfter >= 1100, `closed after ${closedAfter} ms`);
  } finally {
    await nc.close();
  }
});

Deno.test("greeting: a person who answers it joins as a line client", async () => {
  await using server = await startTestServer({ quiet: true, greetAfter: 0.1 });
  const nc = await RawSocket.connect(server.port);
  try {
    await nc.waitForText(GREETING_TEXT);
    await nc.write("gina\n");
    await nc.waitForText("* welcome, gina");
    assert.equal(nc.text.split(GREETING_TEXT).length, 2, "greeted once");
  } finally {
    await nc.close();
  }
});

Deno.test("greeting: clients that speak first never see it", async () => {
  await using server = await startTestServer({ quiet: true, greetAfter: 0.05 });
  const json = await joinJson(server.port, "hank");
  const line = await joinLine(server.port, "ivy");
  const plain = await WireClient.connect(server.port);
  try {
    await plain.sendFrame("jude");
    assert.equal(json.welcome.type, "welcome");
    assert.match(await line.next(), /^\* welcome, ivy/);
    assert.match(await plain.next(), /^\* welcome, jude/);
    // Each is joined, so no greeting can come any more: what came first was the welcome.
    for (const client of [json.client, line, plain]) {
      assert.ok(!client.received.some((item) => item.includes("name?")), client.received.join());
    }
  } finally {
    await closeAll([json.client, line, plain]);
  }
});

Deno.test("telnet: commands are stripped, options refused, a timing mark answered, nothing relayed", async () => {
  await using server = await startTestServer({ quiet: true });
  const alice = (await joinJson(server.port, "alice")).client;
  const telnet = await RawSocket.connect(server.port);
  try {
    // What telnet sends first on port 23: option requests, before any text.
    await telnet.write(new Uint8Array([IAC, WILL, NAWS, IAC, DO, SUPPRESS_GO_AHEAD]));
    await telnet.waitForBytes(
      (bytes) =>
        hasBytes(bytes, [IAC, 0xfe, /* DONT */ NAWS]) &&
        hasBytes(bytes, [IAC, WONT, SUPPRESS_GO_AHEAD]),
      "the refusals",
    );
    await telnet.write("kate\r\n");
    await telnet.waitForText("* welcome, kate");
    assert.equal((await alice.waitForEvent("join")).name, "kate");
    // netkit telnet on typing ✓: IAC BREAK IAC DO TIMING-MARK, then it discards all output
    // until it gets WILL TIMING-MARK.
    await telnet.write(new Uint8Array([IAC, BREAK, IAC, DO, TIMING_MARK]));
    await telnet.waitForBytes((b) => hasBytes(b, [IAC, WILL, TIMING_MARK]), "WILL TIMING-MARK");
    await telnet.write(new Uint8Array([0x6f, 0x6b, IAC, DO, TIMING_MARK, 0x21, 0x0d, 0x0a]));
    const said = await alice.waitForEvent("message");
    assert.deepEqual([said.from, said.text], ["kate", "ok!"]);
    assert.ok(!telnet.text.includes("! "), `no error: ${telnet.text}`);
    await alice.sendJson({ type: "say", text: "hi kate" });
    await telnet.waitForText("alice: hi kate\n");
  } finally {
    await closeAll([alice]);
    await telnet.close();
  }
});

Deno.test("text clients get the name list sorted as the terminal client sorts it", async () => {
  await using server = await startTestServer({ quiet: true });
  const zed = (await joinJson(server.port, "zed")).client;
  const bob = (await joinJson(server.port, "Bob")).client;
  const line = await joinLine(server.port, "alice");
  try {
    assert.equal(await line.next(), "* welcome, alice — 3 online: alice, Bob, zed");
    await line.sendLine("/who");
    await line.waitForLine("* online (3): alice, Bob, zed");
  } finally {
    await closeAll([zed, bob, line]);
  }
});

Deno.test("greeting: held while a storm of connections is unheard, given once it has passed", async () => {
  // More unheard connections than a few people at `nc` could be: nobody is greeted, since
  // their hellos may merely be unread. Once most have gone, the rest are greeted.
  await using server = await startTestServer({ quiet: true, greetAfter: 0.2, maxPerIp: 0 });
  const silent: RawSocket[] = [];
  try {
    for (let i = 0; i < 80; i++) silent.push(await RawSocket.connect(server.port));
    await waitUntil(() => server.server.connections >= 80, "80 connections accepted");
    const waitFrom = Date.now();
    // A framed client that says hello in the storm joins, and is never greeted.
    const framed = await joinJson(server.port, "framed");
    await framed.client.close();
    await waitUntil(() => Date.now() - waitFrom > 1000, "a second of the storm", 2000);
    assert.deepEqual(silent.filter((s) => s.text !== "").length, 0, "nobody greeted in a storm");
    for (const socket of silent.splice(0, 40)) await socket.close();
    for (const socket of silent) await socket.waitForText(GREETING_TEXT);
  } finally {
    await Promise.all(silent.map((socket) => socket.close()));
  }
});

Deno.test("greeting: a hello the server could not read yet because it was busy is not greeted", async () => {
  // The event loop is blocked (as a join storm starves it) from before the hello is read until
  // after the greeting is due: the first sweep after that comes late, so it does not greet.
  await using server = await startTestServer({ quiet: true, greetAfter: 0.2 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await waitUntil(() => server.server.connections === 1, "the connection accepted");
    const hello = JSON.stringify({ type: "hello", name: "late", protocol: 1 });
    await conn.write(encodeFrame(new TextEncoder().encode(hello)));
    const blockedUntil = Date.now() + 600;
    while (Date.now() < blockedUntil) {
      // Busy: nothing else in this process runs, the server's sweep and reads included.
    }
    const first = new Uint8Array(7);
    let read = 0;
    const deadline = Date.now() + 10_000;
    while (read < first.length && Date.now() < deadline) {
      const n = await conn.read(first.subarray(read));
      if (n === null) break;
      read += n;
    }
    const text = new TextDecoder().decode(first.subarray(0, read));
    assert.notEqual(text, "SERVER~", "a framed client was greeted in text");
    assert.equal(read, first.length, "the server answered");
  } finally {
    conn.close();
  }
});
