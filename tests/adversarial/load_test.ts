/**
 * Adversarial suite, abusive load (issue 6, conditions 6, 7 and 17): a message flood, a
 * connection flood beyond the per-address cap and beyond `--max-clients`, and peers that go
 * silent. Bystanders chat through each and must lose nothing.
 */

import assert from "node:assert/strict";
import {
  assertBystandersUnharmed,
  Bystanders,
  concat,
  rawConnect,
  readUntilClosed,
  runPool,
  writeAll,
} from "../support/adversary.ts";
import {
  closeAll,
  delay,
  frame,
  joinJson,
  joinLine,
  parseEvent,
  parseHeader,
  startTestServer,
  type WireClient,
} from "../support/net.ts";

const encoder = new TextEncoder();

Deno.test("condition 6: a client flooding 10,000 messages gets rate_limited, is not relayed, and is disconnected", async () => {
  await using server = await startTestServer({ quiet: true }); // Burst 10, 5 a second.
  const bystanders = await Bystanders.start(server.port);
  const watcher = (await joinJson(server.port, "watcher")).client;
  const lineWatcher = await joinLine(server.port, "linewatch");
  const flooders: WireClient[] = [];
  try {
    await lineWatcher.waitForLine("/help");
    const flooder = (await joinJson(server.port, "flooder")).client;
    const lineFlooder = await joinLine(server.port, "lineflood");
    flooders.push(flooder, lineFlooder);
    await lineFlooder.waitForLine("/help");
    const started = Date.now();
    const frames = Array.from(
      { length: 10_000 },
      (_, i) => frame(JSON.stringify({ type: "say", text: `flood ${i}` })),
    );
    const lines = encoder.encode(
      Array.from({ length: 10_000 }, (_, i) => `line flood ${i}\n`).join(""),
    );
    // Each flood in one go; the server may close before it has read it all.
    await Promise.all([
      writeAll(flooder.conn, concat(...frames)),
      writeAll(lineFlooder.conn, lines),
    ]);
    await flooder.waitClosed();
    await lineFlooder.waitClosed();
    const elapsed = (Date.now() - started) / 1000;

    const errors = flooder.received.map(parseEvent).filter((e) => e.type === "error");
    assert.ok(errors.length >= 2, JSON.stringify(errors));
    assert.ok(errors.every((e) => e.code === "rate_limited"), JSON.stringify(errors));
    assert.match(String(errors.at(-1)!.message), /flood/i);
    assert.ok(lineFlooder.received.some((l) => l.startsWith("! rate_limited: ")));

    // The watchers see at most the burst plus what the rate allows, then the leaves.
    await watcher.waitForEvent((e) => e.type === "leave" && e.name === "lineflood");
    await lineWatcher.waitForLine("lineflood left");
    const events = watcher.received.map(parseEvent);
    const allowed = 10 + Math.ceil(elapsed * 5);
    for (const name of ["flooder", "lineflood"]) {
      const relayed = events.filter((e) => e.type === "message" && e.from === name).length;
      assert.ok(
        relayed >= 1 && relayed <= allowed,
        `${name}: ${relayed} relayed, at most ${allowed}`,
      );
      const leave = events.find((e) => e.type === "leave" && e.name === name);
      assert.equal(leave?.reason, "flood");
    }
    const lineRelayed = lineWatcher.received.filter((l) => /^(flooder|lineflood): /.test(l));
    assert.ok(lineRelayed.length <= 2 * allowed, `${lineRelayed.length} lines relayed`);

    const report = await bystanders.stop();
    assertBystandersUnharmed(report, 1500);
  } finally {
    await closeAll([...flooders, watcher, lineWatcher]);
    await bystanders[Symbol.asyncDispose]();
  }
});

/**
 * Floods a server with `count` connections (`parallel` at a time), each sending a hello, and
 * returns what each was told before being closed.
 */
async function connectionFlood(
  port: number,
  hostname: string,
  count: number,
  parallel: number,
): Promise<{ refusals: string[]; unclosed: number; welcomed: number }> {
  const refusals: string[] = [];
  let unclosed = 0;
  let welcomed = 0;
  await runPool(count, parallel, async (i) => {
    const conn = await rawConnect(port, hostname);
    await writeAll(conn, frame(JSON.stringify({ type: "hello", name: `crowd${i}`, protocol: 1 })));
    const { bytes, closed } = await readUntilClosed(conn, 5000);
    if (!closed) unclosed++;
    if (bytes.length < 64) return void refusals.push("");
    const first = bytes.subarray(64, 64 + parseHeader(bytes.subarray(0, 64)));
    const event = parseEvent(new TextDecoder().decode(first));
    if (event.type === "welcome") welcomed++;
    refusals.push(String(event.code ?? event.type));
  });
  return { refusals, unclosed, welcomed };
}

Deno.test("condition 7: a connection flood beyond --max-clients is refused with server_full; existing sessions are unaffected", async () => {
  await using server = await startTestServer({ quiet: true, maxClients: 6, handshakeTimeout: 1 });
  const bystanders = await Bystanders.start(server.port);
  const members = [];
  try {
    for (let i = 0; i < 4; i++) members.push((await joinJson(server.port, `member${i}`)).client);
    const { refusals, unclosed, welcomed } = await connectionFlood(
      server.port,
      "127.0.0.1",
      300,
      40,
    );
    assert.equal(welcomed, 0);
    assert.equal(unclosed, 0);
    // Each is told why; at most the few closed while 256 refusals were already under way are not.
    const told = refusals.filter((code) => code === "server_full").length;
    assert.ok(told >= 250, `${told} of 300 were told server_full: ${refusals.slice(0, 5)}`);
    assert.deepEqual(refusals.filter((code) => code !== "server_full" && code !== ""), []);
    // Connections that never send anything hold no slot for long.
    const silent = await Promise.all(
      Array.from({ length: 20 }, () => rawConnect(server.port)),
    );
    const closedSilent = await Promise.all(silent.map((conn) => readUntilClosed(conn, 5000)));
    assert.ok(closedSilent.every((r) => r.closed));

    // The members are all still there and can talk.
    for (const member of members) assert.ok(!member.eof);
    await members[0]!.sendJson({ type: "say", text: "still here" });
    for (const member of members) {
      await member.waitForEvent((e) => e.type === "message" && e.text === "still here");
    }
    // A freed slot can be taken again.
    await members.pop()!.close();
    await delay(100);
    const late = await joinJson(server.port, "latecomer").catch(async () => {
      await delay(500);
      return await joinJson(server.port, "latecomer");
    });
    members.push(late.client);
    const report = await bystanders.stop();
    assertBystandersUnharmed(report, 1500);
    assert.deepEqual(report.leaves, ["member3:closed"]);
  } finally {
    await closeAll(members);
    await bystanders[Symbol.asyncDispose]();
  }
});

// The connections go over 127.0.0.1, but the server is told they all come from one
// documentation address (TEST-NET-3), so the per-address cap, which exempts loopback, applies.
const PEER = "203.0.113.9";

Deno.test("condition 7: a connection flood from one address beyond --max-per-ip is refused with server_full; existing sessions are unaffected", async () => {
  // Two bystanders and two members take the four places of the one address.
  await using server = await startTestServer(
    { quiet: true, maxPerIp: 4, handshakeTimeout: 1 },
    undefined,
    { peerAddress: PEER },
  );
  const bystanders = await Bystanders.start(server.port);
  const members: WireClient[] = [];
  try {
    for (let i = 0; i < 2; i++) members.push((await joinJson(server.port, `member${i}`)).client);
    const { refusals, unclosed, welcomed } = await connectionFlood(
      server.port,
      "127.0.0.1",
      300,
      40,
    );
    assert.equal(welcomed, 0);
    assert.equal(unclosed, 0);
    const told = refusals.filter((code) => code === "server_full").length;
    assert.ok(told >= 250, `${told} of 300 were told server_full`);
    assert.deepEqual(refusals.filter((code) => code !== "server_full" && code !== ""), []);
    for (const member of members) assert.ok(!member.eof);
    await members[0]!.sendJson({ type: "say", text: "still here" });
    await members[1]!.waitForEvent((e) => e.type === "message" && e.text === "still here");
    const report = await bystanders.stop();
    assertBystandersUnharmed(report, 1500);
    assert.deepEqual(report.leaves, []);
  } finally {
    await closeAll(members);
    await bystanders[Symbol.asyncDispose]();
  }
});

Deno.test("condition 17: a peer that goes silent is closed as timeout by the keepalive", async () => {
  await using server = await startTestServer({
    quiet: true,
    pingInterval: 0.2,
    idleTimeout: 0.6,
  });
  const bystanders = await Bystanders.start(server.port, { keepaliveMs: 150 });
  const watcher = await joinLine(server.port, "watcher");
  const clients: WireClient[] = [watcher];
  let vanished: Deno.TcpConn | undefined;
  try {
    await watcher.waitForLine("/help");
    // Joins, then never answers: it reads (and sees the pings) but sends nothing.
    const ghost = (await joinJson(server.port, "ghost")).client;
    const ghostJoined = Date.now();
    clients.push(ghost);
    // Joins, then neither reads nor writes, as a peer whose network went away.
    vanished = await rawConnect(server.port);
    await writeAll(
      vanished,
      frame(JSON.stringify({ type: "hello", name: "vanished", protocol: 1 })),
    );
    // Keeps talking (pings of its own count as traffic).
    const alive = (await joinJson(server.port, "alive")).client;
    clients.push(alive);
    const started = Date.now();
    let stop = false;
    const pinger = (async () => {
      while (!stop && !alive.eof) {
        await alive.sendJson({ type: "ping", id: "mine" });
        await delay(150);
      }
    })();
    await ghost.waitClosed(5000);
    const closedAfter = Date.now() - ghostJoined;
    const ghostEvents = ghost.received.map(parseEvent);
    assert.ok(ghostEvents.some((e) => e.type === "ping"), "the server pinged first");
    const leaves = new Map<string, string>();
    while (leaves.size < 2) {
      const line = await watcher.waitForLine(/^\* (ghost|vanished) left/);
      const [, name, reason] = /^\* (\w+) left: (\w+)/.exec(line)!;
      leaves.set(name!, reason!);
    }
    assert.deepEqual(Object.fromEntries(leaves), { ghost: "timeout", vanished: "timeout" });
    // Not before the idle timeout (0.6 s after its last frame, the hello, sent before this).
    assert.ok(closedAfter >= 500, `closed after ${closedAfter} ms, before the idle timeout`);
    // The talking client and the silent line client outlive the timeout several times over.
    await delay(Math.max(0, 2000 - (Date.now() - started)));
    stop = true;
    await pinger;
    assert.ok(!alive.eof && !watcher.eof);
    const lefts = watcher.received.filter((line) => / left/.test(line));
    assert.equal(lefts.length, 2, JSON.stringify(lefts));
    const report = await bystanders.stop();
    assert.ok(report.inOrder, `bystanders lost or reordered: ${JSON.stringify(report)}`);
    assert.deepEqual([...report.leaves].sort(), ["ghost:timeout", "vanished:timeout"]);
  } finally {
    try {
      vanished?.close();
    } catch {
      // Closed by the server and released already.
    }
    await closeAll(clients);
    await bystanders[Symbol.asyncDispose]();
  }
});
