/**
 * End-to-end tests of a cluster: a real `redis-server` on a free port and several
 * `main.ts serve --redis` processes. Cross-node chat, a node killed mid-burst, a node paused
 * past the node timeout, Redis stopped and started again, and a member resuming on another
 * node. Skipped, saying why, only when `redis-server` cannot be run here.
 */

import assert from "node:assert/strict";
import { JsonMember } from "./support/processes.ts";
import { clusterTest, startNode, TEST_NODE_TIMEOUT } from "./support/cluster.ts";
import { mainImportEdges } from "./support/module_graph.ts";
import {
  joinJson,
  runChat,
  type ServeProcess,
  waitUntil,
  type WireClient,
  type WireEvent,
} from "./support/net.ts";
import { freePort, RedisServer } from "./support/redis_server.ts";

/** Starts a node of the cluster on `redis`. */
function node(redis: RedisServer, ...args: string[]): Promise<ServeProcess> {
  return startNode(redis, "test", ...args);
}

const test = clusterTest;

/** Alice and bob on node one and carol on node two, once alice and bob have seen carol join. */
async function aliceBobAndCarol(one: ServeProcess, two: ServeProcess) {
  const alice = await joinJson(one.port, "alice");
  const bob = await joinJson(one.port, "bob");
  const carol = await joinJson(two.port, "carol");
  const clients = [alice, bob, carol];
  try {
    for (const { client } of [alice, bob]) {
      await client.waitForEvent((e) => e.type === "join" && e.name === "carol");
    }
  } catch (error) {
    for (const { client } of clients) await client.close();
    throw error;
  }
  return { alice, bob, carol, clients };
}

/** The messages among events, as `id:from:text`. */
function messages(events: readonly WireEvent[]): string[] {
  return events.flatMap((e) => e.type === "message" ? [`${e.id}:${e.from}:${e.text}`] : []);
}

/** Reads events until `done` says enough (bounded). */
async function collect(
  client: WireClient,
  done: (events: WireEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<WireEvent[]> {
  const events: WireEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(events)) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out; got ${JSON.stringify(events.slice(-5))}`);
    }
    events.push(await client.nextEvent(Math.max(1, deadline - Date.now())));
  }
  return events;
}

test("members on two nodes share the room, names, ids, order, who and dm", async () => {
  await using redis = await RedisServer.start();
  await using one = await node(redis);
  await using two = await node(redis);
  assert.match(one.stdout, /Cluster "test" on redis:\/\/127\.0\.0\.1:\d+: 1 node up/);
  assert.match(two.stdout, /Cluster "test" on redis:\/\/127\.0\.0\.1:\d+: 2 nodes up/);
  const alice = await joinJson(one.port, "alice");
  const bob = await joinJson(two.port, "bob");
  try {
    assert.deepEqual(bob.welcome.users, ["alice", "bob"]);
    assert.deepEqual(bob.welcome.cluster, { name: "test", nodes: 2, degraded: false });
    assert.ok((bob.welcome.features as string[]).includes("cluster"));
    assert.equal(bob.welcome.epoch, alice.welcome.epoch, "one history, one epoch");
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "bob");

    // A name held on one node is taken on the other, in any case.
    const clash = await joinJson(two.port, "ALICE").catch((error: Error) => error);
    assert.ok(clash instanceof Error && /name_taken/.test(clash.message), String(clash));

    // Both speak at once; both see one order and one sequence of ids.
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      sends.push(alice.client.sendJson({ type: "say", text: `a${i}` }));
      sends.push(bob.client.sendJson({ type: "say", text: `b${i}` }));
    }
    await Promise.all(sends);
    const atAlice = messages(await collect(alice.client, (e) => messages(e).length === 40));
    const atBob = messages(await collect(bob.client, (e) => messages(e).length === 40));
    assert.deepEqual(atBob, atAlice, "the same events in the same order on both nodes");
    const ids = atAlice.map((m) => Number(m.split(":")[0]));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), `ids increase: ${ids}`);

    await bob.client.sendJson({ type: "who" });
    const who = await bob.client.waitForEvent("who");
    assert.deepEqual(who.users, ["alice", "bob"]);
    await bob.client.sendJson({ type: "dm", to: "Alice", text: "psst" });
    const dm = await alice.client.waitForEvent("dm");
    assert.equal(dm.from, "bob");
    assert.equal(dm.text, "psst");

    // Rooms are shared: bob makes #ops on node two, alice sees it from node one.
    await bob.client.sendJson({ type: "room", name: "#ops" });
    await bob.client.waitForEvent("moved");
    await alice.client.sendJson({ type: "rooms" });
    const rooms = await alice.client.waitForEvent("rooms");
    assert.deepEqual(rooms.rooms, [{ name: "#main", online: 1 }, { name: "#ops", online: 1 }]);
  } finally {
    await alice.client.close();
    await bob.client.close();
  }
});

test("a wrong --redis fails at start with one sentence; a malformed one is a usage error", async () => {
  const port = freePort();
  const down = await runChat([
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--redis",
    `redis://127.0.0.1:${port}`,
  ]);
  assert.equal(down.code, 1);
  assert.match(
    down.stderr.trim(),
    new RegExp(`^chat serve: Cannot use Redis at redis://127\\.0\\.0\\.1:${port} \\(.*\\): check`),
  );
  assert.equal(down.stderr.trim().split("\n").length, 1, down.stderr);
  const bad = await runChat(["serve", "--redis", "127.0.0.1:6379"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /The --redis value must look like redis:\/\/HOST:PORT/);
});

test("a node killed mid-burst loses nothing acknowledged; its members leave as node_lost", async () => {
  await using redis = await RedisServer.start();
  await using one = await node(redis);
  await using two = await node(redis);
  const alice = await joinJson(one.port, "alice");
  const carol = await joinJson(two.port, "carol");
  try {
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "carol");
    const acknowledged: string[] = [];
    let killed = false;
    const burst = (async () => {
      for (let i = 0; i < 500 && !killed; i++) {
        await alice.client.sendJson({ type: "say", text: `m${i}` }).catch(() => {});
      }
    })();
    // Alice's echoes are her acknowledgements; kill her node after 50 of them.
    const echoes = (async () => {
      for (;;) {
        const event = await alice.client.nextEvent(20_000).catch(() => null);
        if (event === null) return;
        if (event.type === "message") acknowledged.push(`${event.id}:${event.text}`);
        if (acknowledged.length === 50 && !killed) {
          killed = true;
          await one.stop("SIGKILL");
        }
      }
    })();
    const atCarol: WireEvent[] = await collect(
      carol.client,
      (events) => events.some((e) => e.type === "leave" && e.name === "alice"),
      20_000,
    );
    await Promise.all([burst, echoes]);
    const leave = atCarol.find((e) => e.type === "leave")!;
    assert.equal(leave.reason, "node_lost");
    const seen = new Set(
      atCarol.flatMap((e) => e.type === "message" ? [`${e.id}:${e.text}`] : []),
    );
    const lost = acknowledged.filter((m) => !seen.has(m));
    assert.deepEqual(lost, [], "every message alice saw acknowledged reached carol");
    assert.ok(acknowledged.length >= 50);
    // Her name is free again.
    const again = await joinJson(two.port, "alice");
    await again.client.close();
  } finally {
    await alice.client.close();
    await carol.client.close();
  }
});

test("a node paused past the node timeout is taken for lost and lets its members go", async () => {
  await using redis = await RedisServer.start();
  await using one = await node(redis);
  await using two = await node(redis);
  const alice = await joinJson(one.port, "alice");
  const carol = await joinJson(two.port, "carol");
  try {
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "carol");
    Deno.kill(one.pid, "SIGSTOP");
    let leave: WireEvent;
    try {
      leave = await carol.client.waitForEvent((e) => e.type === "leave", 20_000);
    } finally {
      Deno.kill(one.pid, "SIGCONT");
    }
    assert.equal(leave.name, "alice");
    assert.equal(leave.reason, "node_lost");
    // Woken up, node one learns it was lost: alice is told and disconnected, not left a ghost.
    const notice = await alice.client.waitForEvent("shutdown", 10_000);
    assert.match(String(notice.message), /cut off from the cluster/);
    await alice.client.waitClosed();
    await one.waitForStderr(/cluster_lost/);
    // Node one serves again, as a node of the cluster.
    const back = await joinJson(one.port, "alice");
    assert.deepEqual(back.welcome.users, ["carol", "alice"]);
    await carol.client.waitForEvent((e) => e.type === "join" && e.name === "alice");
    await back.client.close();
  } finally {
    await alice.client.close();
    await carol.client.close();
  }
});

test("while Redis is down a node says the cluster is degraded; after it, nothing is lost", async () => {
  await using redis = await RedisServer.start({ persist: true });
  await using one = await node(redis);
  await using two = await node(redis);
  const alice = await joinJson(one.port, "alice");
  const carol = await joinJson(two.port, "carol");
  try {
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "carol");
    await alice.client.sendJson({ type: "say", text: "before" });
    await carol.client.waitForEvent((e) => e.type === "message" && e.text === "before");
    await redis.kill();
    const degraded = await alice.client.waitForEvent("notice");
    assert.match(String(degraded.text), /degraded/);
    await alice.client.sendJson({ type: "say", text: "during" });
    await redis.restart();
    const atAlice = await collect(
      alice.client,
      (events) =>
        events.some((e) => e.type === "notice") &&
        events.some((e) => e.type === "message" && e.text === "during"),
      15_000,
    );
    const restored = atAlice.find((e) => e.type === "notice")!;
    assert.match(String(restored.text), /whole again/);
    const echo = atAlice.find((e) => e.type === "message")!;
    const there = await carol.client.waitForEvent(
      (e) => e.type === "message" && e.text === "during",
      15_000,
    );
    assert.equal(there.id, echo.id);
    await carol.client.sendJson({ type: "say", text: "after" });
    await alice.client.waitForEvent((e) => e.type === "message" && e.text === "after");
  } finally {
    await alice.client.close();
    await carol.client.close();
  }
});

test("a member of a killed node resumes on another without a duplicate or a hole", async () => {
  await using redis = await RedisServer.start();
  await using one = await node(redis);
  await using two = await node(redis);
  const alice = await joinJson(one.port, "alice");
  const carol = await joinJson(two.port, "carol");
  try {
    await carol.client.sendJson({ type: "room", name: "#ops" });
    await carol.client.waitForEvent("moved");
    await alice.client.sendJson({ type: "room", name: "#ops" });
    const moved = await alice.client.waitForEvent("moved");
    for (let i = 1; i <= 3; i++) await carol.client.sendJson({ type: "say", text: `m${i}` });
    const got = messages(await collect(alice.client, (e) => messages(e).length === 3));
    const last = Number(got.at(-1)!.split(":")[0]);
    await one.stop("SIGKILL");
    for (let i = 4; i <= 6; i++) await carol.client.sendJson({ type: "say", text: `m${i}` });
    const atCarol = await collect(
      carol.client,
      (events) => events.some((e) => e.type === "leave" && e.reason === "node_lost"),
      20_000,
    );
    const sent = messages(atCarol).slice(-3);
    assert.deepEqual(sent.map((m) => m.split(":")[2]), ["m4", "m5", "m6"]);
    const resumed = await joinJson(two.port, "alice", {
      hello: { resume: { room: "#ops", after: last, epoch: moved.epoch } },
    });
    try {
      assert.equal(resumed.welcome.room, "#ops");
      const replay = await collect(resumed.client, (e) => messages(e).length === 3);
      assert.ok(!replay.some((e) => e.type === "gap"), "no gap");
      assert.deepEqual(messages(replay), sent, "exactly what was said while away");
      await carol.client.sendJson({ type: "say", text: "live" });
      const live = await resumed.client.waitForEvent("message");
      assert.equal(live.text, "live");
      assert.equal(live.history, undefined);
    } finally {
      await resumed.client.close();
    }
    // With another epoch the client is told of a gap.
    const stale = await joinJson(two.port, "dave", {
      hello: { resume: { room: "#ops", after: last, epoch: "gone" } },
    });
    const gap = await stale.client.nextEvent();
    assert.deepEqual(gap, { type: "gap", room: "#ops", reason: "epoch" });
    await stale.client.close();
  } finally {
    await alice.client.close();
    await carol.client.close();
  }
});

Deno.test("cluster: chat serve without --redis does not load the Redis module", async () => {
  // ioredis is reached only through a dynamic import taken with --redis: a server on its own
  // needs nothing but Deno.
  const edges = await mainImportEdges();
  // The two modules that import ioredis: the broker, and the names and bans the nodes share.
  const redisModules = ["core/redis_broker.ts", "server/redis_trust.ts"];
  const intoRedis = edges.filter((e) => redisModules.some((m) => e.to.endsWith(m.split("/")[1]!)));
  assert.ok(intoRedis.length >= 2, "serve.ts imports the Redis broker and the Redis trust");
  assert.ok(intoRedis.every((e) => e.dynamic === true), JSON.stringify(intoRedis));
  const ioredis = edges.filter((e) => e.to === "ioredis");
  assert.ok(
    ioredis.every((e) => redisModules.some((m) => e.from.endsWith(m))),
    JSON.stringify(ioredis),
  );
});

test("chat join NODE1,NODE2 carries on at the other node, where it was, once each", async () => {
  await using redis = await RedisServer.start();
  // A history of 2 on join: only a resume brings back all three messages said while away.
  await using one = await node(redis, "--history", "2");
  await using two = await node(redis, "--history", "2");
  const carol = await joinJson(two.port, "carol");
  const alice = new JsonMember(`127.0.0.1:${one.port},127.0.0.1:${two.port}`, "alice");
  const events = () => alice.events;
  const texts = () =>
    events().flatMap((e) => e.type === "message" && e.from === "carol" ? [String(e.text)] : []);
  const until = (ok: () => boolean, what: string) =>
    waitUntil(
      ok,
      `${what} (stdout: ${alice.stdout.slice(-600)}, stderr: ${alice.stderr.slice(-600)})`,
      30_000,
    );
  try {
    await carol.client.waitForEvent((e) => e.type === "join" && e.name === "alice", 30_000);
    for (let i = 1; i <= 3; i++) await carol.client.sendJson({ type: "say", text: `m${i}` });
    await until(() => texts().includes("m3"), "alice hears m3 on node one");
    await one.stop("SIGKILL");
    for (let i = 4; i <= 6; i++) await carol.client.sendJson({ type: "say", text: `m${i}` });
    // Alice comes back on node two once her old node is found lost and her name is free.
    await carol.client.waitForEvent((e) => e.type === "join" && e.name === "alice", 30_000);
    await carol.client.sendJson({ type: "say", text: "live" });
    await until(() => texts().includes("live"), "alice hears the live message on node two");
    assert.deepEqual(
      texts(),
      ["m1", "m2", "m3", "m4", "m5", "m6", "live"],
      "no duplicate, no hole",
    );
    assert.ok(!events().some((e) => e.type === "gap"), "no gap");
  } finally {
    await alice.close();
    await carol.client.close();
  }
});

test("a node stopped cleanly says goodbye for its members at once, not after the timeout", async () => {
  await using redis = await RedisServer.start();
  await using one = await node(redis, "--node-timeout", "60");
  await using two = await node(redis, "--node-timeout", "60");
  const alice = await joinJson(one.port, "alice");
  const carol = await joinJson(two.port, "carol");
  try {
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "carol");
    const status = await one.stop("SIGTERM");
    assert.equal(status.code, 0);
    const leave = await carol.client.waitForEvent("leave", 10_000);
    assert.deepEqual([leave.name, leave.reason, leave.online], ["alice", "shutdown", 1]);
    await carol.client.sendJson({ type: "who" });
    assert.deepEqual((await carol.client.waitForEvent("who")).users, ["carol"]);
  } finally {
    await alice.client.close();
    await carol.client.close();
  }
});

test("Redis back without its data: the node registers its members again, and a resume is told of a gap", async () => {
  await using redis = await RedisServer.start();
  await using one = await node(redis);
  await using two = await node(redis);
  const alice = await joinJson(one.port, "alice");
  try {
    await alice.client.sendJson({ type: "say", text: "before" });
    const said = await alice.client.waitForEvent("message");
    await redis.kill();
    await alice.client.waitForEvent((e) => e.type === "notice" && /degraded/.test(String(e.text)));
    await alice.client.sendJson({ type: "say", text: "during" });
    const pending = await alice.client.waitForEvent("message");
    assert.equal(pending.pending, true);
    await redis.restart(); // --save "": it comes back empty
    await alice.client.waitForEvent(
      (e) => e.type === "notice" && /whole again/.test(String(e.text)),
      15_000,
    );
    // Alice was never let go: the node put her back in the new Redis, with what she said.
    // (Node two comes back on its own schedule: until then it would serve bob by itself.)
    await two.waitForStderr(/cluster_restored/, 20_000);
    const bob = await joinJson(two.port, "bob");
    try {
      assert.equal((bob.welcome.cluster as { degraded: boolean }).degraded, false);
      assert.deepEqual(bob.welcome.users, ["alice", "bob"]);
      const replay = messages(await collect(bob.client, (e) => messages(e).length === 1));
      assert.deepEqual(replay.map((m) => m.split(":").slice(1).join(":")), ["alice:during"]);
      await alice.client.waitForEvent((e) => e.type === "join" && e.name === "bob");
      const clash = await joinJson(two.port, "Alice").catch((error: Error) => error);
      assert.ok(clash instanceof Error && /name_taken/.test(clash.message), String(clash));
    } finally {
      await bob.client.close();
    }
    // The history started again: a resume from before the outage is told so.
    const stale = await joinJson(one.port, "dave", {
      hello: { resume: { room: "#main", after: said.id, epoch: alice.welcome.epoch } },
    });
    try {
      assert.notEqual(stale.welcome.epoch, alice.welcome.epoch, "the history started again");
      assert.deepEqual(await stale.client.nextEvent(), {
        type: "gap",
        room: "#main",
        reason: "epoch",
      });
    } finally {
      await stale.client.close();
    }
  } finally {
    await alice.client.close();
  }
});

test("while Redis is down a node serves its own members; after it, the others get it all once, in order", async () => {
  await using redis = await RedisServer.start({ persist: true });
  await using one = await node(redis);
  await using two = await node(redis);
  const { alice, bob, carol, clients } = await aliceBobAndCarol(one, two);
  try {
    await alice.client.sendJson({ type: "say", text: "before" });
    await carol.client.waitForEvent((e) => e.type === "message" && e.text === "before");
    await bob.client.waitForEvent((e) => e.type === "message" && e.text === "before");

    await redis.kill();
    const killedAt = Date.now();
    for (const { client } of clients) {
      await client.waitForEvent((e) => e.type === "notice" && /degraded/.test(String(e.text)));
    }
    // Alice and bob talk live on node one: each message is echoed and delivered at once.
    const echoes: WireEvent[] = [];
    await alice.client.sendJson({ type: "say", text: "d1" });
    echoes.push(await alice.client.waitForEvent("message"));
    assert.equal((await bob.client.waitForEvent("message")).text, "d1");
    await bob.client.sendJson({ type: "say", text: "d2" });
    echoes.push(await bob.client.waitForEvent("message"));
    assert.equal((await alice.client.waitForEvent("message")).text, "d2");
    assert.ok(echoes.every((e) => e.pending === true), JSON.stringify(echoes));
    assert.ok(Number(echoes[1]!.id) > Number(echoes[0]!.id), "provisional ids keep the order");

    // Dave joins node one meanwhile, and is served from what the node knows.
    const dave = await joinJson(one.port, "dave");
    clients.push(dave);
    assert.equal((dave.welcome.cluster as { degraded: boolean }).degraded, true);
    assert.deepEqual([...(dave.welcome.users as string[])].sort(), [
      "alice",
      "bob",
      "carol",
      "dave",
    ]);
    const daveReplay = messages(await collect(dave.client, (e) => messages(e).length === 3));
    assert.deepEqual(daveReplay.map((m) => m.split(":")[2]), ["before", "d1", "d2"]);
    await alice.client.waitForEvent((e) => e.type === "join" && e.name === "dave");
    await dave.client.sendJson({ type: "say", text: "d3" });
    echoes.push(await dave.client.waitForEvent("message"));
    assert.equal((await alice.client.waitForEvent("message")).text, "d3");

    // A private message stays on the node; to another node it is refused, saying to wait.
    await alice.client.sendJson({ type: "dm", to: "dave", text: "psst" });
    assert.equal((await dave.client.waitForEvent("dm")).text, "psst");
    await alice.client.sendJson({ type: "dm", to: "carol", text: "hello?" });
    const refused = await alice.client.waitForEvent("error");
    assert.equal(refused.code, "no_such_user");
    assert.match(String(refused.message), /degraded.*try again/);

    // Bob leaves during the outage; carol on node two says something there.
    await bob.client.close();
    await alice.client.waitForEvent((e) => e.type === "leave" && e.name === "bob");
    await carol.client.sendJson({ type: "say", text: "c1" });

    // The outage outlasts the node timeout: every node's key has expired when Redis is back, and
    // the nodes reconnect up to a backoff apart, yet none is taken for lost.
    await waitUntil(
      () => Date.now() - killedAt > (Number(TEST_NODE_TIMEOUT) + 1) * 1000,
      "the node timeout to pass",
      10_000,
      100,
    );
    await redis.restart();
    // Everything from here on is kept: what arrives before each node says it is whole counts.
    const whole = (events: WireEvent[]) =>
      events.some((e) => e.type === "notice" && /whole again/.test(String(e.text)));
    const atCarol = await collect(carol.client, whole, 20_000);
    const atAlice = await collect(alice.client, whole, 20_000);
    await collect(dave.client, whole, 20_000);
    await carol.client.sendJson({ type: "say", text: "after" });
    const said = (text: string) => (events: WireEvent[]) =>
      events.some((e) => e.type === "message" && e.text === text);
    atCarol.push(...await collect(carol.client, said("after"), 20_000));
    atAlice.push(...await collect(alice.client, said("after"), 20_000));
    // Carol sees node one's outage: dave joined, bob left, and each message once, in order.
    const fromOne = messages(atCarol).filter((m) => /:d\d$/.test(m)).map((m) => m.split(":")[2]);
    assert.deepEqual(fromOne, ["d1", "d2", "d3"]);
    assert.ok(atCarol.some((e) => e.type === "join" && e.name === "dave"));
    assert.ok(atCarol.some((e) => e.type === "leave" && e.name === "bob"));
    // Alice gets carol's c1 once, and none of node one's messages a second time.
    const aliceTexts = messages(atAlice).map((m) => m.split(":")[2]);
    assert.deepEqual(aliceTexts.filter((t) => t === "c1"), ["c1"]);
    assert.deepEqual(aliceTexts.filter((t) => /^d\d$/.test(t!)), [], "nothing delivered twice");
    assert.ok(
      !atAlice.some((e) => e.type === "join" || e.type === "leave"),
      "no repeated presence",
    );

    // Who is there, the same on both nodes.
    for (const { client } of [alice, carol]) {
      await client.sendJson({ type: "who" });
      const who = await client.waitForEvent("who");
      assert.deepEqual([...(who.users as string[])].sort(), ["alice", "carol", "dave"]);
    }
    // The shared history holds everything anyone got an echo for, once, ids increasing.
    const erin = await joinJson(two.port, "erin");
    clients.push(erin);
    const history = messages(await collect(erin.client, (e) => messages(e).length === 6));
    const texts = history.map((m) => m.split(":")[2]);
    assert.deepEqual(texts.filter((t) => /^d\d$/.test(t!)), ["d1", "d2", "d3"]);
    assert.deepEqual([...texts].sort(), ["after", "before", "c1", "d1", "d2", "d3"]);
    const ids = history.map((m) => Number(m.split(":")[0]));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), `ids increase: ${ids}`);
    for (const echo of echoes) assert.ok(texts.includes(String(echo.text)), `${echo.text} kept`);
  } finally {
    for (const { client } of clients) await client.close();
  }
});

test("a name given on two nodes while Redis was down stays with one; the other becomes a guest", async () => {
  await using redis = await RedisServer.start();
  await using one = await node(redis);
  await using two = await node(redis);
  const carol = await joinJson(one.port, "carol");
  const dave = await joinJson(two.port, "dave");
  const clients = [carol, dave];
  try {
    await carol.client.waitForEvent((e) => e.type === "join" && e.name === "dave");
    await redis.kill();
    await carol.client.waitForEvent((e) => e.type === "notice" && /degraded/.test(String(e.text)));
    await dave.client.waitForEvent((e) => e.type === "notice" && /degraded/.test(String(e.text)));
    const first = await joinJson(one.port, "zed");
    clients.push(first);
    const second = await joinJson(two.port, "ZED");
    clients.push(second);
    await redis.restart();
    // Whichever node comes back second finds the name taken and renames its own member.
    const renamed = await Promise.race(
      [first, second].map(async (member) => {
        const notice = await member.client.waitForEvent(
          (e) => e.type === "notice" && /gave the name/.test(String(e.text)),
          20_000,
        ).catch(() => null);
        return notice === null ? null : { member, notice };
      }),
    );
    assert.ok(renamed !== null, "one of the two was told it was renamed");
    const guest = /you are "(guest-\d+)"/.exec(String(renamed.notice.text))?.[1];
    assert.ok(guest !== undefined, String(renamed.notice.text));
    await waitUntil(
      async () => {
        await carol.client.sendJson({ type: "who" });
        const who = await carol.client.waitForEvent("who");
        const users = [...(who.users as string[])].map((n) => n.toLowerCase()).sort();
        return JSON.stringify(users) === JSON.stringify(["carol", "dave", guest, "zed"].sort());
      },
      "carol's who shows zed once and the guest",
      20_000,
      200,
    );
    // The guest speaks under its new name.
    await renamed.member.client.sendJson({ type: "say", text: "still here" });
    const heard = await carol.client.waitForEvent(
      (e) => e.type === "message" && e.text === "still here",
    );
    assert.equal(heard.from, guest);
  } finally {
    for (const { client } of clients) await client.close();
  }
});

test("a rename and a move on a node while Redis is down reach the other nodes after it", async () => {
  await using redis = await RedisServer.start({ persist: true });
  await using one = await node(redis);
  await using two = await node(redis);
  const { alice, bob, carol, clients } = await aliceBobAndCarol(one, two);
  try {
    await redis.kill();
    await alice.client.waitForEvent((e) => e.type === "notice" && /degraded/.test(String(e.text)));
    await alice.client.sendJson({ type: "nick", name: "alicia" });
    const nick = await bob.client.waitForEvent("nick");
    assert.deepEqual([nick.from, nick.to], ["alice", "alicia"]);
    await bob.client.sendJson({ type: "room", name: "#ops" });
    const moved = await bob.client.waitForEvent("moved");
    assert.deepEqual(moved.users, ["bob"]);
    await bob.client.sendJson({ type: "say", text: "in ops" });
    assert.equal((await bob.client.waitForEvent("message")).pending, true);
    await alice.client.waitForEvent((e) => e.type === "leave" && e.reason === "moved");

    await redis.restart();
    const atCarol = await collect(
      carol.client,
      (events) =>
        events.some((e) => e.type === "nick") &&
        events.some((e) => e.type === "leave" && e.reason === "moved") &&
        events.some((e) => e.type === "notice" && /whole again/.test(String(e.text))),
      20_000,
    );
    const renamed = atCarol.find((e) => e.type === "nick")!;
    assert.deepEqual([renamed.from, renamed.to], ["alice", "alicia"]);
    assert.equal(atCarol.find((e) => e.type === "leave")!.name, "bob");
    assert.equal(atCarol.filter((e) => e.type === "leave" || e.type === "join").length, 1);
    await alice.client.waitForEvent(
      (e) => e.type === "notice" && /whole again/.test(String(e.text)),
      20_000,
    );
    await carol.client.sendJson({ type: "rooms" });
    assert.deepEqual((await carol.client.waitForEvent("rooms")).rooms, [
      { name: "#main", online: 2 },
      { name: "#ops", online: 1 },
    ]);
    // Carol follows bob to #ops and finds him there, with what he said.
    await carol.client.sendJson({ type: "room", name: "#ops" });
    const there = await collect(carol.client, (events) => messages(events).length === 1);
    const arrived = there.find((e) => e.type === "moved")!;
    assert.deepEqual(arrived.users, ["bob", "carol"]);
    assert.deepEqual(messages(there).map((m) => m.split(":").slice(1).join(":")), ["bob:in ops"]);
    await bob.client.waitForEvent((e) => e.type === "join" && e.name === "carol");
  } finally {
    for (const { client } of clients) await client.close();
  }
});
