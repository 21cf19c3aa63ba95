/**
 * Integration tests of `chat serve`'s flood control over real TCP on port 0: `--rate-burst`,
 * `--rate-per-second` (0 turns it off), `rate_limited` at most once a second, and the `flood`
 * disconnect.
 */

import assert from "node:assert/strict";
import {
  closeAll,
  delay,
  joinJson,
  joinLine,
  startTestServer,
  type WireClient,
  type WireEvent,
} from "./support/net.ts";

/** Takes every event up to and including the message with the given text. */
async function eventsUntil(client: WireClient, text: string): Promise<WireEvent[]> {
  const events: WireEvent[] = [];
  for (;;) {
    const event = await client.nextEvent();
    events.push(event);
    if (event.type === "message" && event.text === text) return events;
  }
}

Deno.test("serve: --rate-burst messages pass, the rest get one rate_limited and are not relayed", async () => {
  await using server = await startTestServer({ rateBurst: 3, ratePerSecond: 1 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  const carol = await joinLine(server.port, "carol");
  try {
    await carol.waitForLine("type /help");
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "carol");
    await bob.client.waitForEvent((e) => e.type === "join" && e.name === "carol");

    for (let i = 1; i <= 8; i++) await alice.client.sendJson({ type: "say", text: `m${i}` });
    // Alice's ping comes back after everything her flood caused.
    await alice.client.sendJson({ type: "ping", id: "end" });
    const mine: WireEvent[] = [];
    for (;;) {
      const event = await alice.client.nextEvent();
      if (event.type === "pong") break;
      mine.push(event);
    }
    const echoes = mine.filter((e) => e.type === "message").map((e) => e.text);
    assert.deepEqual(echoes, ["m1", "m2", "m3"]);
    const errors = mine.filter((e) => e.type === "error");
    assert.equal(errors.length, 1, "at most one rate_limited a second");
    assert.equal(errors[0]!.code, "rate_limited");
    assert.match(String(errors[0]!.message), /^[A-Z][^\n]*[^.]$/);

    await bob.client.sendJson({ type: "say", text: "marker" });
    const seen = await eventsUntil(bob.client, "marker");
    assert.deepEqual(seen.map((e) => e.text), ["m1", "m2", "m3", "marker"]);
    assert.deepEqual(
      [await carol.next(), await carol.next(), await carol.next(), await carol.next()],
      ["alice: m1", "alice: m2", "alice: m3", "bob: marker"],
    );

    // A second later one more token has come back.
    await delay(1100);
    await alice.client.sendJson({ type: "say", text: "later" });
    const after = await eventsUntil(alice.client, "later");
    assert.deepEqual(after.map((e) => e.text), ["marker", "later"]);
    assert.equal(alice.client.eof, false);
  } finally {
    await closeAll([alice.client, bob.client, carol]);
  }
});

Deno.test("serve: a multi-line message counts once; who and ping are not counted", async () => {
  await using server = await startTestServer({ rateBurst: 2, ratePerSecond: 0.5 });
  const alice = await joinJson(server.port, "alice");
  try {
    await alice.client.sendJson({ type: "say", text: "one\ntwo\nthree\nfour\nfive" });
    for (let i = 0; i < 5; i++) await alice.client.sendJson({ type: "who" });
    await alice.client.sendJson({ type: "me", text: "second" });
    await alice.client.sendJson({ type: "ping", id: 1 });
    const events = [];
    for (let i = 0; i < 8; i++) events.push((await alice.client.nextEvent()).type);
    assert.deepEqual(events, ["message", "who", "who", "who", "who", "who", "message", "pong"]);
    await alice.client.sendJson({ type: "say", text: "third" });
    assert.equal((await alice.client.nextEvent()).code, "rate_limited");
  } finally {
    await alice.client.close();
  }
});

Deno.test("serve: dm and nick are counted like messages, and so are text lines", async () => {
  await using server = await startTestServer({ rateBurst: 2, ratePerSecond: 0.5 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinLine(server.port, "bob");
  try {
    await bob.waitForLine("type /help");
    await alice.client.sendJson({ type: "dm", to: "bob", text: "one" });
    await alice.client.sendJson({ type: "nick", name: "alicia" });
    await alice.client.sendJson({ type: "dm", to: "bob", text: "three" });
    await alice.client.waitForEvent("nick");
    assert.equal((await alice.client.nextEvent()).code, "rate_limited");

    await bob.sendLine("a");
    await bob.sendLine("/me b");
    await bob.sendLine("c");
    await bob.sendLine("/who");
    assert.match(await bob.waitForLine(/^! /), /^! rate_limited: /);
    assert.equal(await bob.next(), "* online (2): alicia, bob");
    assert.deepEqual(bob.received.filter((line) => line.startsWith("[dm]")), ["[dm] alice: one"]);
  } finally {
    await closeAll([alice.client, bob]);
  }
});

Deno.test("serve: --rate-per-second 0 turns flood control off", async () => {
  await using server = await startTestServer({ rateBurst: 1, ratePerSecond: 0 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    await alice.client.waitForEvent("join");
    for (let i = 1; i <= 300; i++) await alice.client.sendJson({ type: "say", text: `m${i}` });
    const seen = await eventsUntil(bob.client, "m300");
    assert.equal(seen.filter((e) => e.type === "message").length, 300);
    assert.equal(seen.filter((e) => e.type === "error").length, 0);
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});

Deno.test("serve: more than 200 refused messages disconnect as flood", async () => {
  await using server = await startTestServer({ rateBurst: 1, ratePerSecond: 1 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    await alice.client.waitForEvent("join");
    for (let i = 1; i <= 260 && !bob.client.eof; i++) {
      await bob.client.sendJson({ type: "say", text: `spam ${i}` }).catch(() => {});
    }
    await bob.client.waitClosed();
    const errors = bob.client.received.map((body) => JSON.parse(body)).filter((e) =>
      e.type === "error"
    );
    assert.equal(errors.at(-1)?.code, "rate_limited");
    assert.match(String(errors.at(-1)?.message), /flood/i);
    const leave = await alice.client.waitForEvent("leave");
    assert.deepEqual([leave.name, leave.reason, leave.online], ["bob", "flood", 1]);
    const messages = alice.client.received.map((body) => JSON.parse(body)).filter((e) =>
      e.type === "message"
    );
    assert.ok(messages.length <= 2, `only the burst was relayed: ${messages.length}`);
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});

Deno.test("serve: a client that keeps flooding for 10 seconds is disconnected as flood", async () => {
  await using server = await startTestServer({ rateBurst: 1, ratePerSecond: 2 });
  const alice = await joinJson(server.port, "alice");
  const bob = await joinJson(server.port, "bob");
  try {
    await alice.client.waitForEvent("join");
    const started = Date.now();
    let firstRefusal = 0;
    // Ten a second against a rate of two: refused often, but far fewer than 200 times.
    for (let i = 1; !bob.client.eof && Date.now() - started < 20_000; i++) {
      await bob.client.sendJson({ type: "say", text: `m${i}` }).catch(() => {});
      if (firstRefusal === 0 && bob.client.received.some((b) => b.includes("rate_limited"))) {
        firstRefusal = Date.now();
      }
      await delay(100);
    }
    await bob.client.waitClosed();
    const lasted = Date.now() - firstRefusal;
    assert.ok(firstRefusal > 0);
    assert.ok(
      lasted >= 9000 && lasted < 15_000,
      `disconnected ${lasted} ms after the first refusal`,
    );
    const leave = await alice.client.waitForEvent("leave");
    assert.equal(leave.reason, "flood");
  } finally {
    await closeAll([alice.client, bob.client]);
  }
});
