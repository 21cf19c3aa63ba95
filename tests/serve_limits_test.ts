/**
 * Integration tests of `chat serve`'s size and connection limits over real TCP on port 0:
 * `--max-message-bytes`, `--max-clients`, `--max-per-ip`, framing errors and the error budget.
 */

import assert from "node:assert/strict";
import {
  closeAll,
  delay,
  frame,
  joinJson,
  joinLine,
  startTestServer,
  waitUntil,
  WireClient,
} from "./support/net.ts";

const encoder = new TextEncoder();

Deno.test("serve: --max-message-bytes is announced and a larger frame is too_large and closes", async () => {
  await using server = await startTestServer({ maxMessageBytes: 200 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    assert.equal((alice.welcome.limits as { maxMessageBytes: number }).maxMessageBytes, 200);
    await alice.client.waitForEvent("join");

    // A body of exactly the limit is accepted.
    const fits = JSON.stringify({ type: "say", text: "" });
    const text = "x".repeat(200 - fits.length);
    await bob.client.sendJson({ type: "say", text });
    assert.equal((await alice.client.waitForEvent("message")).text, text);

    // One byte more: too_large, then the connection is closed and the others hear it.
    await bob.client.sendJson({ type: "say", text: text + "x" });
    const events = [];
    while (!bob.client.eof || bob.client.pending > 0) {
      try {
        events.push(await bob.client.nextEvent());
      } catch {
        break;
      }
    }
    await bob.client.waitClosed();
    const error = events.find((e) => e.type === "error");
    assert.equal(error?.code, "too_large", JSON.stringify(events));
    const leave = await alice.client.waitForEvent("leave");
    assert.deepEqual([leave.name, leave.reason], ["bob", "error"]);
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});

Deno.test("serve: the server never reads an oversized body: header alone is enough", async () => {
  await using server = await startTestServer({ maxMessageBytes: 4096 });
  const alice = await joinJson(server.port, "alice");
  try {
    // Declare 10 MB and send no body at all: the error comes at once.
    await alice.client.send(encoder.encode("10000000".padEnd(64, " ")));
    const error = await alice.client.nextEvent();
    assert.equal(error.type, "error");
    assert.equal(error.code, "too_large");
    assert.match(String(error.message), /^[A-Z]/);
    await alice.client.waitClosed();
  } finally {
    await alice.client.close();
  }
});

Deno.test("serve: before joining, frames above 1024 bytes are too_large", async () => {
  await using server = await startTestServer({ maxMessageBytes: 8192 });
  const client = await WireClient.connect(server.port);
  try {
    await client.sendJson({ type: "hello", name: "alice", protocol: 1, client: "x".repeat(1100) });
    const error = await client.nextEvent();
    assert.equal(error.code, "too_large");
    await client.waitClosed();
  } finally {
    await client.close();
  }
});

Deno.test("serve: a line above the limit gets an error line and closes", async () => {
  await using server = await startTestServer({ maxMessageBytes: 100 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinLine(server.port, "bob");
  try {
    await bob.waitForLine("type /help");
    await bob.sendLine("y".repeat(100));
    assert.equal((await alice.client.waitForEvent("message")).text, "y".repeat(100));
    await bob.sendLine("z".repeat(101));
    assert.match(await bob.next(), /^! too_large: /);
    await bob.waitClosed();
    const leave = await alice.client.waitForEvent("leave");
    assert.equal(leave.reason, "error");
  } finally {
    await closeAll([alice.client, bob]);
  }
});

Deno.test("serve: a malformed header is bad_frame and closes; a keepalive frame is ignored", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  try {
    await alice.client.send(new Uint8Array(64).fill(0x20));
    await alice.client.sendJson({ type: "ping", id: "still here" });
    assert.deepEqual(await alice.client.nextEvent(), { type: "pong", id: "still here" });
    await alice.client.send(encoder.encode("12 3".padEnd(64, " ")));
    const error = await alice.client.nextEvent();
    assert.equal(error.code, "bad_frame");
    await alice.client.waitClosed();
  } finally {
    await alice.client.close();
  }
});

Deno.test("serve: a body that is not UTF-8 gets bad_utf8 and is not relayed", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  const plain = await WireClient.connect(server.port);
  try {
    await plain.sendFrame("bob");
    await plain.waitForLine("type /help");
    await alice.client.waitForEvent("join");
    await plain.sendFrame(new Uint8Array([0x68, 0x69, 0xff, 0xfe]));
    assert.match(await plain.next(), /^! bad_utf8: /);
    await alice.client.sendFrame(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]));
    assert.equal((await alice.client.nextEvent()).code, "bad_utf8");
    await plain.sendFrame("fine");
    const next = await alice.client.nextEvent();
    assert.deepEqual([next.type, next.text], ["message", "fine"]);
  } finally {
    await closeAll([alice.client, plain]);
  }
});

Deno.test("serve: ten errors are answered, the eleventh within a minute closes as error", async () => {
  await using server = await startTestServer();
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    await alice.client.waitForEvent("join");
    for (let i = 0; i < 10; i++) {
      await bob.client.sendJson({ type: "frobnicate" });
      const error = await bob.client.nextEvent();
      assert.equal(error.code, "unknown_type", `error ${i + 1}`);
    }
    assert.equal(bob.client.eof, false);
    await bob.client.sendJson({ type: "say" });
    const last = await bob.client.nextEvent();
    assert.equal(last.code, "bad_event");
    assert.match(String(last.message), /too many errors/);
    await bob.client.waitClosed();
    const leave = await alice.client.waitForEvent("leave");
    assert.deepEqual([leave.name, leave.reason], ["bob", "error"]);
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});

Deno.test("serve: before joining, the fourth error closes; name refusals do not count", async () => {
  await using server = await startTestServer();
  const client = await WireClient.connect(server.port);
  try {
    for (const name of ["bad name", "admin", "x".repeat(33), "y".repeat(300), "", "a\u202eb"]) {
      await client.sendJson({ type: "hello", name, protocol: 1 });
      assert.equal((await client.nextEvent()).code, "bad_name", name);
    }
    for (let i = 0; i < 3; i++) {
      await client.sendJson({ type: "who" });
      assert.equal((await client.nextEvent()).code, "not_joined");
    }
    await client.sendJson({ type: "who" });
    const last = await client.nextEvent();
    assert.equal(last.code, "not_joined");
    assert.match(String(last.message), /too many errors/);
    await client.waitClosed();
  } finally {
    await client.close();
  }
});

Deno.test("serve: --max-clients refuses the next client with server_full once its framing is known", async () => {
  await using server = await startTestServer({ maxClients: 2, handshakeTimeout: 0.5 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinLine(server.port, "bob");
  const extra: WireClient[] = [];
  try {
    await bob.waitForLine("type /help");
    // A JSON client is told in JSON.
    const json = await WireClient.connect(server.port);
    extra.push(json);
    await json.sendJson({ type: "hello", name: "carol", protocol: 1 });
    const full = await json.nextEvent();
    assert.equal(full.type, "error");
    assert.equal(full.code, "server_full");
    assert.match(String(full.message), /^[A-Z][^\n]*[^.]$/);
    await json.waitClosed();

    // A line client is told in a line.
    const line = await WireClient.connect(server.port, { mode: "line" });
    extra.push(line);
    await line.sendLine("dave");
    assert.match(await line.next(), /^! server_full: /);
    await line.waitClosed();

    // A connection that sends nothing is closed at the handshake deadline, silently.
    const silent = await WireClient.connect(server.port);
    extra.push(silent);
    await silent.waitClosed(5000);
    assert.equal(silent.bytesReceived, 0);

    // The room never saw them, and once someone leaves there is room again.
    await alice.client.sendJson({ type: "who" });
    assert.deepEqual((await alice.client.waitForEvent("who")).users, ["alice", "bob"]);
    await bob.sendLine("/quit");
    await bob.waitClosed();
    await waitUntil(() => server.server.connections === 1, "bob's session to close");
    const erin = await joinJson(server.port, "erin");
    extra.push(erin.client);
    assert.deepEqual(erin.welcome.users, ["alice", "erin"]);
  } finally {
    await closeAll([alice.client, bob, ...extra]);
  }
});

Deno.test("serve: --max-per-ip does not apply to loopback", async () => {
  await using server = await startTestServer({ maxPerIp: 1 });
  const clients = [];
  try {
    for (let i = 0; i < 4; i++) clients.push((await joinJson(server.port, `u${i}`)).client);
    assert.equal(server.server.connections, 4);
  } finally {
    await closeAll(clients);
  }
});

// The connections go over 127.0.0.1, but the server is told they come from a documentation
// address (TEST-NET-3), so the per-address limit, which exempts loopback, applies.
const PEER = "203.0.113.7";

Deno.test("serve: --max-per-ip refuses the next connection from one non-loopback address", async () => {
  await using server = await startTestServer({ maxPerIp: 2 }, undefined, { peerAddress: PEER });
  const clients: WireClient[] = [];
  try {
    for (let i = 0; i < 2; i++) clients.push((await joinJson(server.port, `u${i}`)).client);
    const third = await WireClient.connect(server.port);
    clients.push(third);
    await third.sendJson({ type: "hello", name: "u2", protocol: 1 });
    const error = await third.nextEvent();
    assert.equal(error.code, "server_full");
    assert.match(String(error.message), /from your address \(at most 2\)/);
    await third.waitClosed();
    // One leaves: a new one from the same address is admitted.
    await clients[0]!.close();
    await waitUntil(() => server.server.connections === 1, "the first session to close");
    clients.push((await joinJson(server.port, "u3")).client);
  } finally {
    await closeAll(clients);
  }
});

Deno.test("serve: --max-per-ip 0 turns the per-address limit off", async () => {
  await using server = await startTestServer({ maxPerIp: 0 }, undefined, { peerAddress: PEER });
  const clients: WireClient[] = [];
  try {
    for (let i = 0; i < 5; i++) clients.push((await joinJson(server.port, `u${i}`)).client);
    assert.equal(server.server.connections, 5);
  } finally {
    await closeAll(clients);
  }
});

Deno.test("serve: a refused connection never counts against the others", async () => {
  await using server = await startTestServer({ maxClients: 1 });
  const alice = await joinJson(server.port, "alice");
  const refused: WireClient[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const client = await WireClient.connect(server.port);
      refused.push(client);
      await client.send(frame(JSON.stringify({ type: "hello", name: `x${i}`, protocol: 1 })));
    }
    for (const client of refused) {
      assert.equal((await client.nextEvent()).code, "server_full");
      await client.waitClosed();
    }
    await delay(20);
    await alice.client.sendJson({ type: "ping", id: 1 });
    assert.deepEqual(await alice.client.nextEvent(), { type: "pong", id: 1 });
  } finally {
    await closeAll([alice.client, ...refused]);
  }
});
