/**
 * Adversarial suite, framing (issue 6, conditions 1, 2, 3, 4, 9 and 10): huge and malformed
 * headers, slowloris, split and coalesced delivery, the tighter limits before `hello`, and
 * invalid UTF-8. Each test has bystanders or a watcher that must see nothing of the attack.
 */

import assert from "node:assert/strict";
import { KEEPALIVE_FRAME } from "../../protocol/frame64.ts";
import {
  assertBystandersUnharmed,
  Bystanders,
  concat,
  memoryKb,
  rawConnect,
  rawHeader,
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
  joinPlain,
  parseEvent,
  ServeProcess,
  startTestServer,
  WireClient,
  type WireEvent,
} from "../support/net.ts";

const encoder = new TextEncoder();
const json = (event: Record<string, unknown>) => encoder.encode(JSON.stringify(event));
const say = (text: string) => json({ type: "say", text });

/** Events a watcher took, without the volatile timestamp and history epoch (new per server). */
function stable(events: readonly WireEvent[]): string[] {
  // Timestamps, the certificate fingerprint of a fresh server and the epoch of its history
  // differ from run to run.
  return events.map(({ ts: _ts, tls: _tls, epoch: _epoch, ...rest }) => JSON.stringify(rest));
}

/** An event as `type:name:reason`, or `message:from:text`, for comparing lists. */
function describe(event: WireEvent): string {
  return event.type === "message"
    ? `message:${event.from}:${event.text}`
    : `${event.type}:${event.name}:${event.reason ?? ""}`;
}

/** Takes events until a message with `text` arrives; returns those before it. */
async function eventsUntilMessage(client: WireClient, text: string): Promise<WireEvent[]> {
  const before: WireEvent[] = [];
  for (;;) {
    const event = await client.nextEvent();
    if (event.type === "message" && event.text === text) return before;
    before.push(event);
  }
}

Deno.test("condition 1: a header declaring a huge length gets too_large and is closed, with nothing allocated or relayed", async () => {
  await using server = await ServeProcess.start(["--quiet"]);
  const watcher = (await joinJson(server.port, "watcher")).client;
  const talker = (await joinJson(server.port, "talker")).client;
  try {
    const peakBefore = await memoryKb(server.pid, "VmPeak");
    const lengths = ["999999999", "9007199254740992", "1" + "0".repeat(30)];
    for (const [i, length] of lengths.entries()) {
      for (const joined of [false, true]) {
        const client = await WireClient.connect(server.port);
        if (joined) {
          await client.sendJson({ type: "hello", name: `huge${i}`, protocol: 1 });
          assert.equal((await client.nextEvent()).type, "welcome");
        }
        // The header, then the start of a body that must never be read as a message.
        await client.send(concat(rawHeader(length), say(`relayed ${i}`)));
        const error = await client.nextEvent();
        assert.equal(error.type, "error", `${length}: ${JSON.stringify(error)}`);
        assert.equal(error.code, "too_large", `${length}: ${JSON.stringify(error)}`);
        await client.waitClosed();
        assert.equal(client.pending, 0, `${length}: nothing after the error`);
        await client.close();
      }
    }
    await talker.sendJson({ type: "say", text: "sentinel" });
    const before = await eventsUntilMessage(watcher, "sentinel");
    assert.deepEqual(
      before.filter((e) => String(e.name ?? e.from).startsWith("huge")).map(describe),
      lengths.flatMap((_, i) => [`join:huge${i}:`, `leave:huge${i}:error`]),
      "the watcher sees the joins and leaves and no message",
    );
    const peakAfter = await memoryKb(server.pid, "VmPeak");
    // A buffer of the declared size would add at least 953 MiB of address space.
    assert.ok(
      peakAfter - peakBefore < 256 * 1024,
      `VmPeak grew by ${peakAfter - peakBefore} kB`,
    );
  } finally {
    await closeAll([watcher, talker]);
  }
});

Deno.test("condition 2: malformed headers after joining get bad_frame and are closed, never partly parsed", async () => {
  await using server = await startTestServer({ quiet: true });
  const watcher = (await joinJson(server.port, "watcher")).client;
  const talker = (await joinJson(server.port, "talker")).client;
  try {
    const body = say("partial parse");
    const n = String(body.length);
    const headers: [string, Uint8Array][] = [
      ["-1", rawHeader("-1")],
      ["1e3", rawHeader("1e3")],
      ["0x10", rawHeader("0x10")],
      ["leading space", rawHeader(` ${n}`)],
      ["trailing junk", rawHeader(`${n}abc`)],
      ["digits after padding", rawHeader(`${n} 1`)],
      ["NUL padding", rawHeader(concat(encoder.encode(n), new Uint8Array(62)))],
      ["NUL inside", rawHeader(`${n[0]}\0${n.slice(1)}`)],
      ["non-ASCII digits", rawHeader("\uff12\uff16")],
      ["Latin-1 byte", rawHeader(concat(encoder.encode(n), new Uint8Array([0xa0])))],
      ["tab padding", rawHeader(`${n}\t`)],
      ["plus sign", rawHeader(`+${n}`)],
    ];
    for (const [i, [label, header]] of headers.entries()) {
      const client = (await joinJson(server.port, `bad${i}`)).client;
      try {
        await client.send(concat(header, body, frame(say("after"))));
        const error = await client.nextEvent();
        assert.equal(error.type, "error", `${label}: ${JSON.stringify(error)}`);
        assert.equal(error.code, "bad_frame", `${label}: ${JSON.stringify(error)}`);
        await client.waitClosed();
        assert.equal(client.pending, 0, `${label}: nothing after the error`);
      } finally {
        await client.close();
      }
    }
    await talker.sendJson({ type: "say", text: "sentinel" });
    const before = await eventsUntilMessage(watcher, "sentinel");
    assert.deepEqual(
      before.filter((e) => String(e.name ?? e.from).startsWith("bad")).map(describe),
      headers.flatMap((_, i) => [`join:bad${i}:`, `leave:bad${i}:error`]),
      "the watcher sees the joins and leaves and no message",
    );
  } finally {
    await closeAll([watcher, talker]);
  }
});

Deno.test("condition 3: slowloris connections are closed by the deadlines and do not stop others from joining", async () => {
  // A long handshake deadline, so only the frame deadline can close these in time.
  await using server = await startTestServer({
    quiet: true,
    handshakeTimeout: 60,
    frameTimeout: 0.5,
  });
  const bystanders = await Bystanders.start(server.port);
  const watcher = (await joinJson(server.port, "watcher")).client;
  const sockets: Deno.TcpConn[] = [];
  const clients: WireClient[] = [];
  try {
    // Part of a header before joining, then silence.
    const partialHeader = await WireClient.connect(server.port);
    clients.push(partialHeader);
    await partialHeader.send(encoder.encode("12   "));
    // A body shorter than declared after joining, then silence.
    const shortBody = (await joinJson(server.port, "shortbody")).client;
    clients.push(shortBody);
    await shortBody.send(concat(rawHeader("100"), encoder.encode('{"type":"say"')));
    // A line without its end after joining, then silence.
    const partialLine = await joinLine(server.port, "partline");
    clients.push(partialLine);
    await partialLine.waitForLine("welcome");
    await partialLine.send(encoder.encode("a line that never ends"));

    // Many at once: half headers, and half-typed lines after a blank first line (without the
    // LF, a pause would make raw clients of them: see raw_test.ts for raw slowloris).
    const started = Date.now();
    await runPool(300, 50, async (i) => {
      const conn = await rawConnect(server.port);
      sockets.push(conn);
      await writeAll(conn, encoder.encode(i % 2 === 0 ? "4" : "\nalice"));
    });
    // Someone new joins while they hang, without waiting for them.
    const joinStart = Date.now();
    const newcomer = (await joinJson(server.port, "newcomer")).client;
    clients.push(newcomer);
    const joinMs = Date.now() - joinStart;
    assert.ok(joinMs < 2000, `joining took ${joinMs} ms`);

    for (const client of [partialHeader, shortBody, partialLine]) await client.waitClosed(5000);
    const timeout = parseEvent(shortBody.received.at(-1)!);
    assert.deepEqual([timeout.type, timeout.code], ["error", "timeout"]);
    assert.match(partialLine.received.at(-1)!, /^! timeout: /);
    const results = await Promise.all(sockets.map((conn) => readUntilClosed(conn, 8000)));
    const elapsed = Date.now() - started;
    assert.equal(results.filter((r) => !r.closed).length, 0, "every slowloris is closed");
    assert.ok(elapsed < 8000, `closing them took ${elapsed} ms`);
    const leaves = [];
    for (;;) {
      const event = await watcher.nextEvent();
      if (event.type === "leave") leaves.push(`${event.name}:${event.reason}`);
      if (leaves.length === 2) break;
    }
    assert.deepEqual(leaves.sort(), ["partline:timeout", "shortbody:timeout"]);
    const report = await bystanders.stop();
    assertBystandersUnharmed(report, 1500);
  } finally {
    for (const conn of sockets) {
      try {
        conn.close();
      } catch {
        // Closed by readUntilClosed.
      }
    }
    await closeAll([...clients, watcher]);
    await bystanders[Symbol.asyncDispose]();
  }
});

/** How a byte stream is cut into writes. */
type Delivery = "frame by frame" | "byte by byte" | "all in one write" | "random cuts";

/**
 * Writes the chunks of a script as the delivery says. A write after the server has closed the
 * connection (after a framing error) ends the delivery.
 */
async function deliver(client: WireClient, chunks: readonly Uint8Array[], how: Delivery) {
  try {
    await _deliver(client, chunks, how);
  } catch (error) {
    if (
      !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)
    ) {
      throw error;
    }
  }
}

async function _deliver(client: WireClient, chunks: readonly Uint8Array[], how: Delivery) {
  const all = concat(...chunks);
  switch (how) {
    case "frame by frame":
      for (const chunk of chunks) {
        await client.send(chunk);
        await delay(5);
      }
      return;
    case "byte by byte":
      for (let i = 0; i < all.length; i++) {
        await client.send(all.subarray(i, i + 1));
        if (i % 4 === 0) await delay(1);
      }
      return;
    case "all in one write":
      await client.send(all);
      return;
    case "random cuts": {
      let seed = 12345;
      let offset = 0;
      while (offset < all.length) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const size = 1 + (seed % 150);
        await client.send(all.subarray(offset, offset + size));
        offset += size;
        await delay(2);
      }
    }
  }
}

/**
 * Runs one client script against a fresh server with a watcher, and returns what the client and
 * the watcher received (timestamps removed).
 */
async function runScript(
  style: "json" | "plain" | "line",
  chunks: readonly Uint8Array[],
  how: Delivery,
): Promise<{ client: string[]; watcher: string[] }> {
  await using server = await startTestServer({ quiet: true, rateBurst: 50 });
  const watcher = (await joinJson(server.port, "watcher")).client;
  const client = await WireClient.connect(server.port, {
    mode: style === "line" ? "line" : "frame64",
  });
  try {
    await deliver(client, chunks, how);
    await client.waitClosed();
    await watcher.waitForEvent("leave");
    const clean = (item: string) =>
      style === "json" ? stable([parseEvent(item)])[0]! : item.replace(/\d{4}-\d\d-\d\dT\S+/, "");
    return {
      client: client.received.map(clean),
      watcher: stable(watcher.received.map(parseEvent)),
    };
  } finally {
    await closeAll([client, watcher]);
  }
}

Deno.test("condition 4: frames delivered whole, byte by byte and many per write give identical results", async () => {
  const bad = new Uint8Array([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x7d]);
  const scripts: Record<string, Uint8Array[]> = {
    "json, too large": [
      frame(json({ type: "hello", name: "mallory", protocol: 1 })),
      frame(say("first")),
      frame(say("last")),
      concat(rawHeader("99999"), say("never")),
    ],
    json: [
      frame(json({ type: "hello", name: "mallory", protocol: 1 })),
      KEEPALIVE_FRAME,
      frame(say("one")),
      frame(say("two\nlines")),
      frame(json({ type: "me", text: "waves" })),
      frame(json({ type: "ping", id: 7 })),
      frame(json({ type: "who" })),
      frame(json({ type: "nope" })),
      frame(bad),
      frame(json({ type: "nick", name: "mal" })),
      frame(json({ type: "dm", to: "WATCHER", text: "psst" })),
      frame(say("   ")),
      KEEPALIVE_FRAME,
      frame(say("x".repeat(300))),
      frame(say("last")),
      concat(rawHeader("12abc"), say("never")),
    ],
    plain: [
      frame("pat"),
      frame("hello there"),
      frame("/me waves"),
      KEEPALIVE_FRAME,
      frame(new Uint8Array([0x68, 0xc3, 0x28])),
      frame("/nick patty"),
      frame("/msg watcher psst"),
      frame("   "),
      frame("/who"),
      frame("two\nlines"),
      frame("last"),
      frame("!DISCONNECT FROM SERVER"),
    ],
    line: [
      encoder.encode("lenny\r\n"),
      encoder.encode("hello there\n"),
      encoder.encode("/me waves\r\n"),
      new Uint8Array([0x68, 0xc3, 0x28, 0x0a]),
      encoder.encode("/nick len\n"),
      encoder.encode("/msg watcher psst\r\n"),
      encoder.encode("   \n\n"),
      encoder.encode("/who\n"),
      encoder.encode("y".repeat(300) + "\n"),
      encoder.encode("last\n"),
      encoder.encode("/quit\n"),
    ],
  };
  const deliveries: Delivery[] = [
    "frame by frame",
    "byte by byte",
    "all in one write",
    "random cuts",
  ];
  for (const [label, chunks] of Object.entries(scripts)) {
    const style = label.startsWith("json") ? "json" : label as "plain" | "line";
    const reference = await runScript(style, chunks, deliveries[0]!);
    // The reference itself is right: the script's effects are all there.
    assert.ok(
      reference.watcher.some((e) => e.includes('"text":"last"')),
      `${label}: ${reference.watcher}`,
    );
    if (label === "json, too large") {
      assert.match(reference.client.at(-1)!, /too_large/);
    } else {
      assert.ok(reference.watcher.some((e) => e.includes('"psst"')), `${label}: dm arrives`);
      assert.ok(reference.client.some((e) => e.includes("bad_utf8")), `${label}: bad_utf8`);
    }
    if (label === "json") assert.match(reference.client.at(-1)!, /bad_frame/);
    for (const how of deliveries.slice(1)) {
      const result = await runScript(style, chunks, how);
      assert.deepEqual(result, reference, `${label} client, ${how}`);
    }
  }
});

Deno.test("condition 9: before hello, events, spam and oversized frames meet tighter limits than after joining", async () => {
  await using server = await startTestServer({ quiet: true, maxMessageBytes: 4096 });
  const watcher = (await joinJson(server.port, "watcher")).client;
  const talker = (await joinJson(server.port, "talker")).client;
  const clients: WireClient[] = [];
  try {
    // Events before hello: not_joined, nothing relayed, the connection stays (ping works).
    const early = await WireClient.connect(server.port);
    clients.push(early);
    await early.sendJson({ type: "say", text: "before hello" });
    assert.equal((await early.nextEvent()).code, "not_joined");
    await early.sendJson({ type: "ping", id: 1 });
    assert.deepEqual(await early.nextEvent(), { type: "pong", id: 1 });

    // Pre-join spam: the fourth error closes the connection.
    const spammer = await WireClient.connect(server.port);
    clients.push(spammer);
    for (const type of ["say", "me", "who"]) {
      await spammer.sendJson({ type, text: "x" });
      assert.equal((await spammer.nextEvent()).code, "not_joined");
    }
    await spammer.sendJson({ type: "nick", name: "x" });
    assert.equal((await spammer.nextEvent()).code, "not_joined");
    await spammer.waitClosed();

    // The same after joining: ten errors are tolerated, the eleventh closes.
    const joined = (await joinJson(server.port, "erring")).client;
    clients.push(joined);
    for (let i = 0; i < 10; i++) {
      await joined.sendJson({ type: "nope" });
      assert.equal((await joined.nextEvent()).code, "unknown_type");
    }
    await joined.sendJson({ type: "ping", id: 2 });
    assert.deepEqual(await joined.nextEvent(), { type: "pong", id: 2 });
    await joined.sendJson({ type: "nope" });
    assert.equal((await joined.nextEvent()).code, "unknown_type");
    await joined.waitClosed();

    // Name refusals before joining do not count.
    const picky = await WireClient.connect(server.port);
    clients.push(picky);
    for (const name of ["a b", "server", "", "x".repeat(40), "watcher"]) {
      await picky.sendJson({ type: "hello", name, protocol: 1 });
      assert.match(String((await picky.nextEvent()).code), /^(bad_name|name_taken)$/);
    }
    await picky.sendJson({ type: "hello", name: "picky", protocol: 1 });
    assert.equal((await picky.nextEvent()).type, "welcome");

    // Oversized before joining: 1025 bytes is too large for a frame or a line.
    const big = await WireClient.connect(server.port);
    clients.push(big);
    await big.sendFrame(
      JSON.stringify({ type: "hello", name: "big", protocol: 1, pad: "" })
        .padEnd(1025, " "),
    );
    assert.equal((await big.nextEvent()).code, "too_large");
    await big.waitClosed();
    const bigLine = await WireClient.connect(server.port, { mode: "line" });
    clients.push(bigLine);
    await bigLine.sendLine("n".repeat(1025));
    assert.match(await bigLine.next(), /^! too_large: /);
    await bigLine.waitClosed();
    const bigName = await WireClient.connect(server.port);
    clients.push(bigName);
    await bigName.sendFrame("p".repeat(1025));
    assert.equal((await bigName.nextEvent()).code, "too_large");
    await bigName.waitClosed();

    // After joining the same sizes are fine, up to --max-message-bytes.
    const long = "z".repeat(3000);
    await talker.sendJson({ type: "say", text: long });
    const line = await joinLine(server.port, "liner");
    clients.push(line);
    await line.waitForLine("welcome");
    await line.sendLine("l".repeat(2000));
    // The two connections race, so take messages until both have arrived, in either order.
    const texts: string[] = [];
    while (texts.length < 2) {
      const event = await watcher.nextEvent();
      if (event.type === "message") texts.push(`${event.from}:${event.text}`);
    }
    assert.deepEqual(texts.sort(), [`liner:${"l".repeat(2000)}`, `talker:${long}`]);
  } finally {
    await closeAll([...clients, watcher, talker]);
  }
});

Deno.test("condition 10: an invalid UTF-8 body gets bad_utf8, is not relayed, and the connection is kept", async () => {
  await using server = await startTestServer({ quiet: true });
  const watcher = (await joinJson(server.port, "watcher")).client;
  const jason = (await joinJson(server.port, "jason")).client;
  const plain = await joinPlain(server.port, "plain");
  const line = await joinLine(server.port, "liner");
  try {
    await plain.waitFor((body) => body.includes("/help"), "plain welcome");
    await line.waitForLine("/help");
    const invalid = [
      [0xff],
      [0xc3, 0x28], // A lead byte without its continuation.
      [0xc0, 0xaf], // Overlong "/".
      [0xed, 0xa0, 0x80], // A UTF-16 surrogate.
      [0xf4, 0x90, 0x80, 0x80], // Beyond U+10FFFF.
    ].map((bytes) => new Uint8Array(bytes));
    for (const bytes of invalid) {
      const text = concat(encoder.encode('{"type":"say","text":"a'), bytes, encoder.encode('"}'));
      await jason.sendFrame(text);
      assert.equal((await jason.waitForEvent("error")).code, "bad_utf8");
      await plain.sendFrame(concat(encoder.encode("a"), bytes));
      assert.match(await plain.waitFor((b) => b.startsWith("! "), "an error"), /^! bad_utf8: /);
      await line.send(concat(encoder.encode("a"), bytes, encoder.encode("\n")));
      assert.match(await line.waitForLine(/^! /), /^! bad_utf8: /);
    }
    // Still connected and heard.
    await jason.sendJson({ type: "say", text: "json ok" });
    await plain.sendFrame("plain ok");
    await line.sendLine("line ok");
    const echo = await jason.waitForEvent("message");
    assert.equal(echo.text, "json ok");
    const messages: string[] = [];
    while (messages.length < 3) {
      const event = await watcher.nextEvent();
      assert.notEqual(event.type, "leave", JSON.stringify(event));
      if (event.type === "message") messages.push(`${event.from}:${event.text}`);
    }
    assert.deepEqual(messages.sort(), ["jason:json ok", "liner:line ok", "plain:plain ok"]);
    assert.ok(!plain.eof && !line.eof && !jason.eof);
  } finally {
    await closeAll([watcher, jason, plain, line]);
  }
});
