/**
 * The gates of a private server over real sockets: the password (JSON `hello.password`, and
 * `password?` for text clients), the brake on guessing it from one address and from many, a
 * password sent by a text client before its name, and the allowlist (`--allow`), reread when
 * the file changes and on SIGHUP.
 */

import assert from "node:assert/strict";
import { newIdentity } from "../client/identity.ts";
import { assertBystandersUnharmed, Bystanders } from "./support/adversary.ts";
import {
  firstEventFrom,
  joinAs,
  joinJson,
  ServeProcess,
  startTestServer,
  waitUntil,
  WireClient,
  type WireEvent,
} from "./support/net.ts";
import { tempDir } from "./support/temp.ts";

const PASSWORD = "open sesame";

/** One JSON `hello` from a chosen loopback address; the first answer and how long it took. */
function helloFrom(
  port: number,
  localAddress: string,
  hello: Record<string, unknown>,
): Promise<{ event: WireEvent | null; ms: number }> {
  return firstEventFrom(port, localAddress, JSON.stringify({ protocol: 1, ...hello }), 20_000);
}

Deno.test("password: JSON clients join with hello.password; a missing or wrong one is bad_password and closes", async () => {
  await using server = await startTestServer({ password: PASSWORD });
  const none = await WireClient.connect(server.port);
  const wrong = await WireClient.connect(server.port);
  try {
    await none.sendJson({ type: "hello", name: "alice", protocol: 1 });
    const missing = await none.nextEvent();
    assert.equal(missing.code, "bad_password");
    assert.match(String(missing.message), /needs a password.*--password.*CHAT_PASSWORD/);
    await none.waitClosed();
    await wrong.sendJson({ type: "hello", name: "alice", protocol: 1, password: "guess" });
    const refused = await wrong.nextEvent();
    assert.equal(refused.code, "bad_password");
    assert.match(String(refused.message), /Wrong password/);
    await wrong.waitClosed();
    // Offenders wait; this one comes from another address.
    const { event } = await helloFrom(server.port, "127.0.0.2", {
      type: "hello",
      name: "alice",
      password: PASSWORD,
    });
    assert.equal(event?.type, "welcome");
    assert.ok(!server.logLines.some((line) => line.includes(PASSWORD) || line.includes("guess")));
  } finally {
    await Promise.all([none.close(), wrong.close()]);
  }
});

Deno.test("password: a text client is asked password? after its name", async () => {
  await using server = await startTestServer({ password: PASSWORD });
  const listener = (await joinJson(server.port, "ann", { hello: { password: PASSWORD } })).client;
  const text = await WireClient.connect(server.port, { mode: "line" });
  try {
    await text.sendLine("bob");
    assert.equal(await text.next(), "password?");
    await text.sendLine(PASSWORD);
    await text.waitForLine(/^\* welcome, bob/);
    await listener.waitForEvent((e) => e.type === "join" && e.name === "bob");
    // A plain frame64 client too, and its first body is never taken as a guest's message.
    const plain = await WireClient.connect(server.port);
    try {
      await plain.sendFrame("Hello World!");
      assert.match(await plain.next(), /^! bad_name/);
      assert.equal(await plain.next(), "name?");
      await plain.sendFrame("carl");
      assert.equal(await plain.next(), "password?");
      await plain.sendFrame(PASSWORD);
      await listener.waitForEvent((e) => e.type === "join" && e.name === "carl");
    } finally {
      await plain.close();
    }
  } finally {
    await Promise.all([listener.close(), text.close()]);
  }
});

Deno.test("password: a text client that sends its password before its name is refused and the password is never shown", async () => {
  await using server = await startTestServer({ password: PASSWORD });
  const listener = (await joinJson(server.port, "ann", { hello: { password: PASSWORD } })).client;
  const text = await WireClient.connect(server.port, { mode: "line" });
  try {
    // "opensesame" is a valid name: the server cannot tell, so it is held as the name, never
    // shown, and the name that follows is checked as the password.
    await text.sendLine("opensesame");
    await text.sendLine("bob");
    assert.equal(await text.next(), "password?");
    assert.match(await text.next(), /^! bad_password: Wrong password/);
    await text.waitClosed();
    // A client that sends the password where its name goes, then the password again, is let
    // in but never under the password as a name.
    const twice = await WireClient.connect(server.port, { mode: "line" });
    const secret = "hunter2";
    await using other = await startTestServer({ password: secret });
    const again = await WireClient.connect(other.port, { mode: "line" });
    try {
      await again.sendLine(secret);
      assert.equal(await again.next(), "password?");
      await again.sendLine(secret);
      assert.match(await again.next(), /^! bad_name: Your name cannot be the server's password/);
      assert.equal(await again.next(), "name?");
      await again.sendLine("dave");
      await again.waitForLine(/^\* welcome, dave/);
      assert.ok(!other.logLines.some((line) => line.includes(secret)));
    } finally {
      await Promise.all([twice.close(), again.close()]);
    }
    // Nobody saw the password, and the log never holds it.
    assert.ok(!listener.received.some((body) => body.includes("opensesame")));
    assert.ok(!server.logLines.some((line) => line.includes("opensesame")));
  } finally {
    await Promise.all([listener.close(), text.close()]);
  }
});

Deno.test("password: a guess loop from one address is slowed more and more, and bystanders see no delay", async () => {
  await using server = await startTestServer({ password: PASSWORD, handshakeTimeout: 30 });
  const bystanders = await Bystanders.start(server.port, { hello: { password: PASSWORD } });
  const talker = (await joinJson(server.port, "talk", { hello: { password: PASSWORD } })).client;
  try {
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { event, ms } = await helloFrom(server.port, "127.0.0.3", {
        type: "hello",
        name: "mallory",
        password: `guess${i}`,
      });
      assert.equal(event?.code, "bad_password");
      times.push(ms);
      // Meanwhile an honest member's messages go through at once.
      const started = performance.now();
      await talker.sendJson({ type: "say", text: `still fast ${i}` });
      await talker.waitForEvent((e) => e.type === "message" && e.text === `still fast ${i}`);
      assert.ok(performance.now() - started < 250, "the server never waits for a guesser");
    }
    // 0, then 0.5 s, 1 s, 2 s: each answer waits twice as long as the one before.
    assert.ok(times[0]! < 400, `first answer ${times[0]} ms`);
    for (let i = 1; i < times.length; i++) {
      const floor = 500 * 2 ** (i - 1) * 0.9;
      assert.ok(times[i]! >= floor, `answer ${i} after ${times[i]} ms, below ${floor}`);
    }
    // Even the right password waits its turn from that address: the timing tells nothing.
    const right = await helloFrom(server.port, "127.0.0.3", {
      type: "hello",
      name: "mallory",
      password: PASSWORD,
    });
    assert.equal(right.event?.type, "welcome");
    assert.ok(right.ms >= 3600, `the right password answered after ${right.ms} ms`);
    assertBystandersUnharmed(await bystanders.stop(), 250);
  } finally {
    await bystanders[Symbol.asyncDispose]();
    await talker.close();
  }
});

Deno.test("password: a guess loop from many addresses slows each, while others join at once", async () => {
  await using server = await startTestServer({ password: PASSWORD, handshakeTimeout: 30 });
  const bystanders = await Bystanders.start(server.port, { hello: { password: PASSWORD } });
  const honest = (await joinJson(server.port, "honest", { hello: { password: PASSWORD } })).client;
  try {
    const addresses = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15"];
    const slowest: number[] = [];
    const loops = addresses.map(async (address) => {
      let total = 0;
      for (let i = 0; i < 3; i++) {
        const { event, ms } = await helloFrom(server.port, address, {
          type: "hello",
          name: "bot",
          password: `${address}-${i}`,
        });
        assert.equal(event?.code, "bad_password");
        total += ms;
      }
      slowest.push(total);
    });
    // While they guess, a newcomer with the password joins at once, and the honest member's
    // messages are not held up.
    const newcomer = await helloFrom(server.port, "127.0.0.1", {
      type: "hello",
      name: "newcomer",
      password: PASSWORD,
    });
    assert.equal(newcomer.event?.type, "welcome");
    assert.ok(newcomer.ms < 500, `the newcomer waited ${newcomer.ms} ms`);
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      await honest.sendJson({ type: "say", text: `hi ${i}` });
      await honest.waitForEvent((e) => e.type === "message" && e.text === `hi ${i}`);
      assert.ok(performance.now() - started < 250);
    }
    await Promise.all(loops);
    // Three guesses from each address took at least 0 + 0.5 + 1 s.
    for (const total of slowest) assert.ok(total >= 1350, `three guesses took ${total} ms`);
    assert.equal(server.server.trust.password?.offenders, addresses.length);
    assertBystandersUnharmed(await bystanders.stop(), 250);
  } finally {
    await bystanders[Symbol.asyncDispose]();
    await honest.close();
  }
});

Deno.test("allowlist: only listed identities join; the list is reread when the file changes", async () => {
  const dir = tempDir("chat-allow-");
  const alice = await newIdentity();
  const bob = await newIdentity();
  const file = `${dir}/allowed`;
  await Deno.writeTextFile(file, `# friends\n${alice.fingerprint} alice\n`);
  try {
    await using server = await startTestServer({ allow: file });
    const a = await joinAs(server.port, "alice", alice);
    assert.equal(a.answer.type, "welcome");
    const b = await joinAs(server.port, "bob", bob);
    assert.equal(b.answer.code, "not_allowed");
    assert.ok(String(b.answer.message).includes(`yours (${bob.fingerprint}) is not on it`));
    await b.client.waitClosed();
    await b.client.close();
    const keyless = await WireClient.connect(server.port);
    await keyless.sendJson({ type: "hello", name: "eve", protocol: 1 });
    const refused = await keyless.nextEvent();
    assert.equal(refused.code, "not_allowed");
    assert.match(String(refused.message), /join with 'chat join'/);
    await keyless.close();
    // Bob is added (the file replaced, as editors do), alice removed: bob gets in, alice out.
    await Deno.writeTextFile(`${file}.new`, `${bob.fingerprint}\n`);
    await Deno.rename(`${file}.new`, file);
    const dropped = await a.client.waitForEvent((e) => e.type === "error", 10_000);
    assert.equal(dropped.code, "not_allowed");
    await a.client.waitClosed();
    await a.client.close();
    const again = await joinAs(server.port, "bob", bob);
    assert.equal(again.answer.type, "welcome");
    await again.client.close();
    // A broken file keeps the list as it was, and says so in the log.
    await Deno.writeTextFile(file, "not a fingerprint\n");
    await waitUntil(
      () => server.logLines.some((line) => line.includes("allowlist_unchanged")),
      "the broken file to be reported",
    );
    const still = await joinAs(server.port, "bob", bob);
    assert.equal(still.answer.type, "welcome");
    await still.client.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("allowlist: chat serve rereads the file on SIGHUP, and refuses to start with a bad one", async () => {
  const dir = tempDir("chat-allow-");
  const alice = await newIdentity();
  const file = `${dir}/allowed`;
  try {
    await Deno.writeTextFile(file, "SHA256:nope\n");
    const bad = await ServeProcess.start(["--allow", file]).then(
      () => "started",
      (error) => String(error),
    );
    assert.match(bad, /Cannot use the --allow file .*Line 1 is not a fingerprint/);
    await Deno.writeTextFile(file, "");
    await using serve = await ServeProcess.start(["--allow", file]);
    const before = await joinAs(serve.port, "alice", alice);
    assert.equal(before.answer.code, "not_allowed");
    await before.client.close();
    await Deno.writeTextFile(file, `${alice.fingerprint}\n`);
    Deno.kill(serve.pid, "SIGHUP");
    await serve.waitForStderr(/allowlist .*identities=1/);
    const after = await joinAs(serve.port, "alice", alice);
    assert.equal(after.answer.type, "welcome");
    await after.client.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
