import assert from "node:assert/strict";
import type { Transport } from "./connection.ts";
import { Recorder, startTestServer, waitFor } from "../tests/support/client_harness.ts";
import { lookup } from "node:dns/promises";
import { addressesOf, candidatesOf, ChatSession, NameRefusedError } from "./session.ts";
import { scriptedServer } from "../tests/support/scripted_server.ts";

const HOST = "127.0.0.1";

Deno.test("ChatSession joins, gets its own echo, and quits with a leave the others see", async () => {
  const server = await startTestServer();
  const alice = new Recorder();
  const bob = new Recorder();
  const a = new ChatSession({ host: HOST, port: server.port, reconnect: false }, alice);
  const b = new ChatSession({ host: HOST, port: server.port, reconnect: false }, bob);
  try {
    await a.connect();
    const welcome = await a.join("alice");
    assert.equal(welcome.name, "alice");
    assert.equal(a.name, "alice");
    assert.equal(alice.all[0]?.type, "welcome");
    await b.connect();
    await b.join("bob");
    assert.equal(a.send({ type: "say", text: "hi bob" }), true);
    await waitFor(() => alice.texts.includes("hi bob"), "alice's echo");
    await waitFor(() => bob.texts.includes("hi bob"), "bob to get the message");
    await a.quit();
    assert.deepEqual(await a.ended, { reason: "quit" });
    await waitFor(
      () => bob.all.some((e) => e.type === "leave" && e.name === "alice" && e.reason === "quit"),
      "bob to see alice leave",
    );
    assert.equal(a.send({ type: "say", text: "gone" }), false);
  } finally {
    await a.quit();
    await b.quit();
    await server.close();
  }
});

Deno.test("ChatSession.join reports a taken or bad name and may retry on the same connection", async () => {
  const server = await startTestServer();
  const first = new ChatSession(
    { host: HOST, port: server.port, reconnect: false },
    new Recorder(),
  );
  const second = new ChatSession(
    { host: HOST, port: server.port, reconnect: false },
    new Recorder(),
  );
  try {
    await first.connect();
    await first.join("bob");
    await second.connect();
    const taken = await second.join("BOB").catch((error: unknown) => error);
    assert.ok(taken instanceof NameRefusedError);
    assert.equal(taken.code, "name_taken");
    const bad = await second.join("admin").catch((error: unknown) => error);
    assert.ok(bad instanceof NameRefusedError);
    assert.equal(bad.code, "bad_name");
    assert.equal(server.connections, 2, "still on the same connection");
    const welcome = await second.join("bob2");
    assert.equal(welcome.name, "bob2");
    assert.deepEqual([...welcome.users].sort(), ["bob", "bob2"]);
  } finally {
    await first.quit();
    await second.quit();
    await server.close();
  }
});

Deno.test("ChatSession.join connects again if the server gave up waiting for the name", async () => {
  const server = await startTestServer({ handshakeTimeout: 0.2 });
  const session = new ChatSession(
    { host: HOST, port: server.port, reconnect: false },
    new Recorder(),
  );
  try {
    await session.connect();
    await waitFor(() => server.connections === 0, "the server to drop the silent connection");
    const welcome = await session.join("slowtyper");
    assert.equal(welcome.name, "slowtyper");
  } finally {
    await session.quit();
    await server.close();
  }
});

Deno.test("ChatSession reconnects, joins under the same name, and drops replayed messages", async () => {
  const server = await startTestServer({ history: 10 });
  const transports: Deno.TcpConn[] = [];
  const alice = new Recorder();
  const a = new ChatSession({
    host: HOST,
    port: server.port,
    reconnect: true,
    backoff: () => 20,
    dial: async (host, port) => {
      const conn = await Deno.connect({ hostname: host, port });
      transports.push(conn);
      return conn as Transport;
    },
  }, alice);
  const b = new ChatSession({ host: HOST, port: server.port, reconnect: false }, new Recorder());
  try {
    await a.connect();
    await a.join("alice");
    await b.connect();
    await b.join("bob");
    b.send({ type: "say", text: "one" });
    b.send({ type: "say", text: "two" });
    await waitFor(() => alice.texts.length === 2, "alice to see two messages");
    a.send({ type: "nick", name: "alicia" });
    await waitFor(() => a.name === "alicia", "the rename");
    // Cut the connection under the session's feet.
    transports[0]!.close();
    await waitFor(
      () => alice.statuses.some((s) => s.type === "reconnected"),
      "the reconnection",
    );
    assert.deepEqual(alice.statuses.map((s) => s.type), [
      "lost",
      "reconnecting",
      "connecting",
      "reconnected",
    ]);
    assert.equal(a.name, "alicia", "joined again under the current name");
    b.send({ type: "say", text: "three" });
    await waitFor(() => alice.texts.includes("three"), "alice to see the third message");
    assert.deepEqual(alice.texts, ["one", "two", "three"], "no duplicates from the replay");
    assert.equal(alice.all.filter((e) => e.type === "welcome").length, 2);
  } finally {
    await a.quit();
    await b.quit();
    await server.close();
  }
});

Deno.test("ChatSession shows the server's shutdown and ends when reconnecting is off", async () => {
  const server = await startTestServer();
  const alice = new Recorder();
  const a = new ChatSession({ host: HOST, port: server.port, reconnect: false }, alice);
  try {
    await a.connect();
    await a.join("alice");
    await server.close("Maintenance");
    const end = await a.ended;
    assert.equal(end.reason, "lost");
    assert.ok(alice.all.some((e) => e.type === "shutdown" && e.message === "Maintenance"));
    assert.equal(alice.statuses[0]?.type, "lost");
    assert.equal(await a.whenJoined(), false);
  } finally {
    await a.quit();
    await server.close();
  }
});

Deno.test("ChatSession keeps trying while the server is away and quit stops it", async () => {
  const server = await startTestServer();
  const alice = new Recorder();
  const a = new ChatSession(
    { host: HOST, port: server.port, reconnect: true, backoff: () => 10 },
    alice,
  );
  try {
    await a.connect();
    await a.join("alice");
    await server.close();
    await waitFor(
      () => alice.statuses.filter((s) => s.type === "retry_failed").length >= 2,
      "two failed attempts",
    );
    const failed = alice.statuses.find((s) => s.type === "retry_failed");
    assert.equal(failed?.type === "retry_failed" ? failed.reason : "", "connection refused");
  } finally {
    await a.quit();
    await server.close();
  }
  assert.deepEqual(await a.ended, { reason: "quit" });
});

Deno.test("ChatSession answers the server's pings so it is not timed out", async () => {
  // Pinged every 0.1 s, dropped after 1.2 s of silence: each answer may be up to 1.1 s late (a
  // loaded machine) and still count, and 2 s is well past the point where an unanswering client
  // would have been dropped.
  const server = await startTestServer({ pingInterval: 0.1, idleTimeout: 1.2 });
  const alice = new Recorder();
  const a = new ChatSession({ host: HOST, port: server.port, reconnect: false }, alice);
  try {
    await a.connect();
    await a.join("alice");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(a.joined, true);
    assert.deepEqual(alice.statuses, []);
    assert.ok(!alice.all.some((e) => e.type === "ping"), "pings are answered, not shown");
  } finally {
    await a.quit();
    await server.close();
  }
});

Deno.test("ChatSession refuses to send more than the server's message limit", async () => {
  const server = await startTestServer({ maxMessageBytes: 100 });
  const alice = new Recorder();
  const a = new ChatSession({ host: HOST, port: server.port, reconnect: false }, alice);
  try {
    await a.connect();
    await a.join("alice");
    assert.throws(() => a.send({ type: "say", text: "x".repeat(100) }), RangeError);
    assert.equal(a.send({ type: "say", text: "short" }), true);
    await waitFor(() => alice.texts.includes("short"), "the short message");
  } finally {
    await a.quit();
    await server.close();
  }
});

Deno.test("ChatSession.retryNow cuts the wait before the next attempt", async () => {
  const first = await startTestServer();
  const port = first.port;
  const seen = new Recorder();
  const session = new ChatSession(
    { host: HOST, port, reconnect: true, backoff: () => 60_000 },
    seen,
  );
  let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
  try {
    await session.connect();
    await session.join("alice");
    assert.equal(session.retryNow(), null, "nothing to do while connected");
    await first.close();
    await waitFor(() => seen.statuses.some((s) => s.type === "reconnecting"), "the wait");
    second = await startTestServer({ port });
    const left = session.retryNow(1000);
    assert.ok(left !== null && left <= 1000, String(left));
    assert.equal(session.retryNow(), 0);
    await waitFor(() => seen.statuses.some((s) => s.type === "reconnected"), "the reconnection");
  } finally {
    await session.quit();
    await first.close();
    await second?.close();
  }
});

Deno.test("ChatSession: an operator is told so, and a kicked member stops instead of reconnecting", async () => {
  const { newIdentity } = await import("./identity.ts");
  const opIdentity = await newIdentity();
  const server = await startTestServer({ ops: [opIdentity.fingerprint], password: "pw" });
  const op = new ChatSession(
    { host: HOST, port: server.port, reconnect: false, identity: opIdentity, password: "pw" },
    new Recorder(),
  );
  const bob = new Recorder();
  const kicked = new ChatSession(
    { host: HOST, port: server.port, reconnect: true, backoff: () => 10, password: "pw" },
    bob,
  );
  try {
    await op.connect();
    await op.join("op");
    assert.equal(op.isOp, true);
    await kicked.connect();
    await kicked.join("bob");
    assert.equal(kicked.isOp, false);
    op.send({ type: "mod", action: "kick", target: "bob", reason: "enough" });
    const end = await kicked.ended;
    assert.deepEqual(end, { reason: "lost", message: "you were kicked by op: enough" });
    assert.ok(!bob.statuses.some((s) => s.type === "reconnecting"), "it did not reconnect");
  } finally {
    await op.quit();
    await kicked.quit();
    await server.close();
  }
});

Deno.test("ChatSession: a wrong password ends the session without retrying", async () => {
  const server = await startTestServer({ password: "right" });
  const session = new ChatSession(
    { host: HOST, port: server.port, reconnect: true, password: "wrong" },
    new Recorder(),
  );
  try {
    await session.connect();
    const refused = await session.join("alice").catch((error: unknown) => error);
    assert.ok(refused instanceof Error);
    assert.equal((refused as { code?: string }).code, "bad_password");
  } finally {
    await session.quit();
    await server.close();
  }
});

Deno.test("addressesOf keeps IP addresses, resolves names as the system does, keeps a name it cannot resolve", async () => {
  assert.deepEqual(await addressesOf("127.0.0.1"), ["127.0.0.1"]);
  assert.deepEqual(await addressesOf("::1"), ["::1"]);
  // Every address /etc/hosts (or DNS) gives for the name, not only the first.
  const system = (await lookup("localhost", { all: true })).map((entry) => entry.address);
  assert.deepEqual(await addressesOf("localhost"), [...new Set(system)]);
  assert.ok(system.includes("127.0.0.1"), JSON.stringify(system));
  // A reserved name (RFC 2606) never resolves: the connection attempt then says why.
  assert.deepEqual(await addressesOf("nothing.invalid"), ["nothing.invalid"]);
});

Deno.test("candidatesOf dials a name with one address by name, and one with several at each", async () => {
  const single = await candidatesOf([{ host: "127.0.0.1", port: 1 }, { host: "::1", port: 2 }]);
  assert.deepEqual(single, [{ host: "127.0.0.1", port: 1 }, { host: "::1", port: 2 }]);
  const system = [
    ...new Set((await lookup("localhost", { all: true })).map((entry) => entry.address)),
  ];
  const named = await candidatesOf([{ host: "localhost", port: 3 }]);
  assert.deepEqual(
    named,
    system.length > 1
      ? system.map((host) => ({ host, port: 3 }))
      : [{ host: "localhost", port: 3 }],
  );
});

Deno.test("ChatSession with several servers connects to the first that answers", async () => {
  const server = await startTestServer();
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const recorder = new Recorder();
  const session = new ChatSession({
    host: "127.0.0.1",
    port: deadPort,
    reconnect: false,
    servers: [{ host: "127.0.0.1", port: deadPort }, { host: "127.0.0.1", port: server.port }],
  }, recorder);
  try {
    await session.connect();
    const welcome = await session.join("alice");
    assert.equal(welcome.name, "alice");
  } finally {
    await session.quit();
    await server.close();
  }
});

Deno.test("session: messages of two rooms with the same id and time are both shown", async () => {
  // Ids are per room: the first message of #ops and the first of #main may share id and time.
  const ts = "2026-12-06T12:00:00.000Z";
  const limits = {
    maxMessageBytes: 4096,
    rateBurst: 10,
    ratePerSecond: 5,
    pingIntervalSeconds: 30,
    idleTimeoutSeconds: 75,
  };
  const server = scriptedServer([
    { type: "welcome", name: "alice", server: "s", protocol: 1, users: ["alice"], limits },
    { type: "message", id: 1, ts, from: "alice", text: "in ops", kind: "say", room: "#ops" },
    { type: "moved", room: "#main", users: ["alice"] },
    { type: "message", id: 1, ts, from: "alice", text: "in main", kind: "say", room: "#main" },
    { type: "message", id: 1, ts, from: "alice", text: "in main", kind: "say", room: "#main" },
  ]);
  const seen = new Recorder();
  const session = new ChatSession({ host: HOST, port: server.port, reconnect: false }, seen);
  try {
    await session.connect();
    await session.join("alice");
    await waitFor(() => seen.texts.length >= 2, "both messages");
    assert.deepEqual(seen.texts, ["in ops", "in main"], "the repeat in one room is dropped");
  } finally {
    await session.quit();
    await server.close();
  }
});

Deno.test("ChatSession shows a pending message once, when it comes back with its final id", async () => {
  const limits = {
    maxMessageBytes: 4096,
    rateBurst: 10,
    ratePerSecond: 5,
    pingIntervalSeconds: 30,
    idleTimeoutSeconds: 75,
  };
  const ts = "2024-05-01T09:05:00.000Z";
  const later = "2024-05-01T09:05:01.000Z";
  const server = scriptedServer([
    { type: "welcome", name: "alice", server: "s", protocol: 1, users: ["alice"], limits },
    // Said on a node cut off from Redis: a provisional id, the final time.
    {
      type: "message",
      id: 5,
      ts,
      from: "bob",
      text: "hi",
      kind: "say",
      room: "#main",
      pending: true,
    },
    // The same message replayed with its final id after the node came back.
    {
      type: "message",
      id: 7,
      ts,
      from: "bob",
      text: "hi",
      kind: "say",
      room: "#main",
      history: true,
    },
    // Another message at the same time from someone else is news.
    { type: "message", id: 8, ts, from: "carol", text: "hi", kind: "say", room: "#main" },
    { type: "message", id: 9, ts: later, from: "bob", text: "again", kind: "say", room: "#main" },
  ]);
  const seen = new Recorder();
  const session = new ChatSession({ host: HOST, port: server.port, reconnect: false }, seen);
  try {
    await session.connect();
    await session.join("alice");
    await waitFor(() => seen.texts.includes("again"), "the last message");
    assert.deepEqual(seen.texts, ["hi", "hi", "again"], "bob's hi once, carol's hi, then again");
  } finally {
    await session.quit();
    await server.close();
  }
});
