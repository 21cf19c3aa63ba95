/**
 * Integration tests of `chat serve`'s deadlines over real TCP on port 0, with deadlines of a
 * fraction of a second: `--handshake-timeout`, `--frame-timeout`, `--ping-interval` and
 * `--idle-timeout`.
 */

import assert from "node:assert/strict";
import {
  closeAll,
  delay,
  frame,
  joinJson,
  joinLine,
  joinPlain,
  startTestServer,
  WireClient,
} from "./support/net.ts";

const encoder = new TextEncoder();

Deno.test("serve: --handshake-timeout closes a silent connection without a word", async () => {
  await using server = await startTestServer({ handshakeTimeout: 0.3 });
  const client = await WireClient.connect(server.port);
  try {
    const started = Date.now();
    await client.waitClosed(5000);
    const took = Date.now() - started;
    assert.ok(took >= 250, `closed after ${took} ms, before the deadline`);
    assert.equal(client.bytesReceived, 0);
  } finally {
    await client.close();
  }
});

Deno.test("serve: --handshake-timeout sends timeout to a line client that never ends its name", async () => {
  await using server = await startTestServer({ handshakeTimeout: 0.3 });
  const client = await WireClient.connect(server.port, { mode: "line" });
  try {
    // A blank line makes a line client (bytes with no LF and then a pause would make a raw
    // client of it, whose first burst is its name); then part of a name, and silence.
    await client.send(encoder.encode("\r\nali"));
    assert.match(await client.next(5000), /^! timeout: /);
    await client.waitClosed();
  } finally {
    await client.close();
  }
});

Deno.test("serve: --handshake-timeout sends timeout to a JSON client that never says hello", async () => {
  await using server = await startTestServer({ handshakeTimeout: 0.3 });
  const client = await WireClient.connect(server.port);
  try {
    // Framing known (frame64), JSON style known from a ping, but no hello.
    await client.sendJson({ type: "ping", id: 1 });
    assert.deepEqual(await client.nextEvent(), { type: "pong", id: 1 });
    const error = await client.nextEvent(5000);
    assert.equal(error.code, "timeout");
    assert.match(String(error.message), /^[A-Z]/);
    await client.waitClosed();
  } finally {
    await client.close();
  }
});

Deno.test("serve: a client that joins in time is not touched by the handshake deadline", async () => {
  // 2 s to join is plenty even on a loaded machine; whether the deadline has passed for alice
  // and bob is not guessed: a silent connection opened after they joined is closed by it.
  await using server = await startTestServer({ handshakeTimeout: 2 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinLine(server.port, "bob");
  const silent = await WireClient.connect(server.port);
  try {
    await silent.waitClosed(15_000);
    await alice.client.sendJson({ type: "who" });
    assert.deepEqual((await alice.client.waitForEvent("who")).users, ["alice", "bob"]);
    assert.equal(bob.eof, false);
  } finally {
    await closeAll([alice.client, bob, silent]);
  }
});

Deno.test("serve: --frame-timeout closes a client that starts a frame and stalls", async () => {
  await using server = await startTestServer({ frameTimeout: 0.3, handshakeTimeout: 30 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    await alice.client.waitForEvent("join");
    // A header and half a body, then nothing.
    const body = encoder.encode(JSON.stringify({ type: "say", text: "never finished" }));
    const header = encoder.encode(String(body.length).padEnd(64, " "));
    await bob.client.send(header);
    await bob.client.send(body.subarray(0, 10));
    const error = await bob.client.nextEvent(5000);
    assert.equal(error.type, "error");
    assert.equal(error.code, "timeout");
    await bob.client.waitClosed();
    const leave = await alice.client.waitForEvent("leave");
    assert.deepEqual([leave.name, leave.reason], ["bob", "timeout"]);
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});

Deno.test("serve: --frame-timeout also bounds a half-sent header and an unfinished line", async () => {
  await using server = await startTestServer({ frameTimeout: 0.3, handshakeTimeout: 30 });
  const frameClient = (await joinJson(server.port, "alice")).client;
  const lineClient = await joinLine(server.port, "bob");
  try {
    await lineClient.waitForLine("type /help");
    await frameClient.send(encoder.encode("12   "));
    await lineClient.send(encoder.encode("half a line"));
    assert.equal((await frameClient.waitForEvent("error", 5000)).code, "timeout");
    assert.match(await lineClient.waitForLine(/^! /, 5000), /^! timeout: /);
    await frameClient.waitClosed();
    await lineClient.waitClosed();
  } finally {
    await closeAll([frameClient, lineClient]);
  }
});

Deno.test("serve: a slow but steady frame is fine within --frame-timeout", async () => {
  // 3 s leaves room for the two 100 ms pauses to stretch on a loaded machine.
  await using server = await startTestServer({ frameTimeout: 3 });
  const alice = await joinJson(server.port, "alice");
  try {
    const frameBytes = frame(JSON.stringify({ type: "ping", id: "slow-ping" }));
    // Sent in three parts, 100 ms apart: well inside the deadline.
    await alice.client.send(frameBytes.subarray(0, 30));
    await delay(100);
    await alice.client.send(frameBytes.subarray(30, 70));
    await delay(100);
    await alice.client.send(frameBytes.subarray(70));
    assert.deepEqual(await alice.client.nextEvent(), { type: "pong", id: "slow-ping" });
  } finally {
    await alice.client.close();
  }
});

Deno.test("serve: --ping-interval pings a silent JSON client, and a pong keeps it alive", async () => {
  // Each pong may come up to 1 s late (a loaded machine) and still be in time.
  await using server = await startTestServer({ pingInterval: 0.2, idleTimeout: 1.2 });
  const alice = await joinJson(server.port, "alice");
  try {
    const started = Date.now();
    for (let round = 0; round < 8; round++) {
      const ping = await alice.client.nextEvent(5000);
      assert.equal(ping.type, "ping");
      assert.ok(ping.id !== undefined, "the server's ping carries an id");
      await alice.client.sendJson({ type: "pong", id: ping.id });
    }
    // Eight pings answered: past the idle timeout, and still connected.
    assert.ok(Date.now() - started >= 1200, "the pings were spaced by the interval");
    assert.equal(alice.client.eof, false);
    assert.equal(server.server.connections, 1);
  } finally {
    await alice.client.close();
  }
});

Deno.test("serve: --idle-timeout closes a JSON client that never answers, as timeout", async () => {
  // Alice talks every 50 ms; 1.5 s of silence before a drop leaves her room to be late.
  await using server = await startTestServer({ pingInterval: 0.5, idleTimeout: 1.5 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    await alice.client.waitForEvent("join");
    const started = Date.now();
    // Alice keeps talking; bob says nothing.
    const talk = (async () => {
      while (!bob.client.eof && Date.now() - started < 10_000) {
        await alice.client.sendJson({ type: "pong" });
        await delay(50);
      }
    })();
    const ping = await bob.client.nextEvent(10_000);
    assert.equal(ping.type, "ping");
    await bob.client.waitClosed(10_000);
    const took = Date.now() - started;
    assert.ok(took >= 1400, `closed after ${took} ms, before the idle timeout`);
    await talk;
    const leave = await alice.client.waitForEvent("leave");
    assert.deepEqual([leave.name, leave.reason], ["bob", "timeout"]);
    assert.equal(alice.client.eof, false, "the talking client stays");
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});

Deno.test("serve: text clients are never pinged and never closed for silence", async () => {
  await using server = await startTestServer({ pingInterval: 0.1, idleTimeout: 0.3 });
  const line = await joinLine(server.port, "bob");
  const plain = await joinPlain(server.port, "carol");
  try {
    await line.waitForLine("type /help");
    await plain.waitForLine("type /help");
    await line.waitForLine("carol joined");
    await delay(1000);
    assert.equal(line.eof, false);
    assert.equal(plain.eof, false);
    assert.equal(line.pending, 0, JSON.stringify(line.received));
    assert.equal(plain.pending, 0, JSON.stringify(plain.received));
    assert.equal(plain.keepalives, 0);
    await line.sendLine("still here");
    assert.equal(await plain.next(), "bob: still here");
  } finally {
    await closeAll([line, plain]);
  }
});
