/**
 * Integration tests of slow readers over real TCP on port 0: a client that stops reading is
 * dropped as `slow` when its send queue overflows (`--send-queue-bytes`) or its writes make no
 * progress (`--write-timeout`), and nobody else is held up meanwhile.
 */

import assert from "node:assert/strict";
import { closeAll, frame, joinJson, startTestServer, type WireClient } from "./support/net.ts";

const CHUNK_TEXT = "x".repeat(256 * 1024);
/** At most this many 256 KiB messages (64 MiB) are sent before a test gives up. */
const MAX_CHUNKS = 256;

/** Joins a JSON client that then never reads a byte. */
async function joinStalled(port: number, name: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const hello = frame(JSON.stringify({ type: "hello", name, protocol: 1 }));
  let offset = 0;
  while (offset < hello.length) offset += await conn.write(hello.subarray(offset));
  return conn;
}

/**
 * Sends big messages from `sender` until `watcher` hears that `name` left, keeping the
 * watcher's reading in step; returns the leave event and how many messages were sent.
 */
async function floodUntilLeave(
  sender: WireClient,
  watcher: WireClient,
  name: string,
): Promise<{ leave: Record<string, unknown>; sent: number }> {
  let sent = 0;
  for (; sent < MAX_CHUNKS; sent++) {
    const left = watcher.received.find((body) => body.includes(`"leave"`));
    if (left !== undefined) return { leave: JSON.parse(left), sent };
    await sender.sendJson({ type: "say", text: `${sent} ${CHUNK_TEXT}` });
    // Let the watcher keep up, so only the stalled reader falls behind.
    const echo = await watcher.waitFor((body) =>
      body.startsWith(`{"type":"message"`) &&
      body.includes(`"text":"${sent} `), `message ${sent}`);
    assert.ok(echo.length > CHUNK_TEXT.length);
  }
  throw new Error(`${name} was not dropped after ${sent} messages of 256 KiB`);
}

Deno.test("serve: a reader whose --send-queue-bytes overflows is dropped as slow; others are unaffected", async () => {
  await using server = await startTestServer({
    ratePerSecond: 0,
    maxMessageBytes: 1048576,
    sendQueueBytes: 512 * 1024,
    writeTimeout: 600,
  });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  const stalled = await joinStalled(server.port, "stalled");
  try {
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "stalled");
    await bob.client.waitForEvent((e) => e.type === "join" && e.name === "stalled");
    const started = Date.now();
    const { leave, sent } = await floodUntilLeave(alice.client, bob.client, "stalled");
    assert.deepEqual([leave.name, leave.reason], ["stalled", "slow"]);
    assert.ok(sent > 1, `dropped after ${sent} messages`);
    // Never held up: everyone else got every message, within a reasonable time.
    assert.ok(Date.now() - started < 30_000);
    await alice.client.sendJson({ type: "say", text: "after" });
    const after = await bob.client.waitForEvent((e) => e.type === "message" && e.text === "after");
    assert.equal(after.from, "alice");
    assert.equal(server.server.connections, 2);
  } finally {
    stalled.close();
    await closeAll([alice.client, bob.client]);
  }
});

Deno.test("serve: a reader whose writes stall for --write-timeout is dropped as slow", async () => {
  await using server = await startTestServer({
    ratePerSecond: 0,
    maxMessageBytes: 1048576,
    sendQueueBytes: 256 * 1024 * 1024,
    writeTimeout: 0.5,
  });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  const stalled = await joinStalled(server.port, "stalled");
  try {
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "stalled");
    await bob.client.waitForEvent((e) => e.type === "join" && e.name === "stalled");
    // Fewer bytes than the queue holds can be sent, so only the write timeout can drop it.
    const { leave, sent } = await floodUntilLeave(alice.client, bob.client, "stalled");
    assert.deepEqual([leave.name, leave.reason], ["stalled", "slow"]);
    assert.ok(sent * CHUNK_TEXT.length < 256 * 1024 * 1024);
    await bob.client.sendJson({ type: "ping", id: "alive" });
    assert.deepEqual(await bob.client.waitForEvent("pong"), { type: "pong", id: "alive" });
  } finally {
    stalled.close();
    await closeAll([alice.client, bob.client]);
  }
});
