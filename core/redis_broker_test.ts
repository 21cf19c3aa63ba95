import assert from "node:assert/strict";
import { brokerContract } from "../tests/support/broker_contract.ts";
import {
  freePort,
  REDIS_AVAILABLE,
  REDIS_SKIP_REASON,
  RedisServer,
} from "../tests/support/redis_server.ts";
import { checkRedisUrl, RedisBroker, RedisUnavailableError } from "./redis_broker.ts";
import { BrokerUnavailableError, MAIN_ROOM, type Published } from "./broker.ts";

let shared: RedisServer | null = null;
let clusters = 0;

/** One Redis for every contract test; each test gets a cluster name (key prefix) of its own. */
async function redis(): Promise<RedisServer> {
  shared ??= await RedisServer.start();
  return shared;
}

if (REDIS_AVAILABLE) {
  brokerContract("redis", () => {
    const brokers: RedisBroker[] = [];
    return {
      open: async (count) => {
        const server = await redis();
        const cluster = `contract${++clusters}-${Date.now()}`;
        for (let i = 0; i < count; i++) {
          brokers.push(
            await RedisBroker.connect({ url: server.url, cluster, keepMessages: 20 }),
          );
        }
        return brokers;
      },
      close: () => Promise.resolve(),
    };
  });
} else {
  Deno.test({ name: `redis broker contract (${REDIS_SKIP_REASON})`, ignore: true, fn() {} });
}

Deno.test({
  name: "redis broker: the contract's Redis is stopped",
  ignore: !REDIS_AVAILABLE,
  // Runs last in this file: the contract tests registered above share the server.
  async fn() {
    await shared?.stop();
    shared = null;
  },
});

Deno.test("checkRedisUrl accepts redis://HOST:PORT[/DB] and refuses the rest", () => {
  assert.equal(checkRedisUrl("redis://localhost:6379/"), "redis://localhost:6379");
  assert.equal(checkRedisUrl("redis://[::1]:6379/3"), "redis://[::1]:6379/3");
  assert.throws(() => checkRedisUrl("localhost:6379"), /redis:\/\/HOST:PORT/);
  assert.throws(() => checkRedisUrl("http://localhost:6379"), /redis:\/\/HOST:PORT/);
  assert.throws(() => checkRedisUrl("redis://localhost:6379/x"), /database/);
});

Deno.test("redis broker: a Redis that does not answer fails the connect with one sentence", async () => {
  const port = freePort();
  await assert.rejects(
    RedisBroker.connect({ url: `redis://127.0.0.1:${port}` }),
    (error: unknown) => {
      assert.ok(error instanceof RedisUnavailableError);
      assert.match(
        error.message,
        new RegExp(`^Cannot use Redis at redis://127\\.0\\.0\\.1:${port}`),
      );
      assert.ok(!error.message.includes("\n"));
      return true;
    },
  );
});

/** Sends one command to Redis in its inline form and returns the first line of the answer. */
async function redisCommand(port: number, command: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(command + "\r\n"));
    const buffer = new Uint8Array(256);
    const read = await conn.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, read ?? 0)).split("\r\n")[0]!;
  } finally {
    conn.close();
  }
}

Deno.test({
  name: "redis broker: a node cut off for a moment reads back what it missed, in order",
  ignore: !REDIS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await RedisServer.start();
    const states: boolean[] = [];
    const one = await RedisBroker.connect({
      url: server.url,
      cluster: "cut",
      onDegraded: (degraded) => states.push(degraded),
    });
    const two = await RedisBroker.connect({ url: server.url, cluster: "cut" });
    try {
      const alice = { node: two.node, id: 1 };
      await two.claimName("alice", alice);
      await two.enter(MAIN_ROOM, alice, 10);
      const seen: string[] = [];
      await one.subscribe(MAIN_ROOM, (p) => {
        if (p.event.type === "message") seen.push(p.event.text);
      });
      const say = (text: string) =>
        two.publish(MAIN_ROOM, { type: "message", from: "alice", text, kind: "say" }, alice);
      await say("m1");
      // Cut every subscriber off; node one reconnects after its backoff, node two's commands
      // carry on meanwhile, so m2 to m4 are published while node one hears nothing.
      assert.match(await redisCommand(server.port, "CLIENT KILL TYPE pubsub"), /^:\d+/);
      for (const text of ["m2", "m3", "m4"]) await say(text);
      const until = async (done: () => boolean, what: string) => {
        const deadline = Date.now() + 10_000;
        while (!done()) {
          if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${seen}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await until(() => states.at(-1) === false, "the node to be whole again");
      await until(() => seen.length >= 4, "what was missed");
      await say("m5");
      await until(() => seen.length >= 5, "a live message after it");
      assert.deepEqual(seen, ["m1", "m2", "m3", "m4", "m5"], "no hole, no duplicate, in order");
      assert.deepEqual(states, [true, false], "degraded, then whole again");
    } finally {
      await one.close();
      await two.close();
    }
  },
});

Deno.test({
  name:
    "redis broker: while Redis is down a node shows its members' messages and keeps them for Redis",
  ignore: !REDIS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await RedisServer.start({ persist: true });
    const errors: string[] = [];
    const one = await RedisBroker.connect({
      url: server.url,
      cluster: "down",
      pendingLimit: 2,
      onError: (message) => errors.push(message),
    });
    const two = await RedisBroker.connect({ url: server.url, cluster: "down" });
    try {
      const alice = { node: one.node, id: 1 };
      assert.ok(await one.claimName("alice", alice));
      await one.enter(MAIN_ROOM, alice, 10);
      const atOne: Published[] = [];
      const atTwo: Published[] = [];
      await one.subscribe(MAIN_ROOM, (p) => atOne.push(p));
      await two.subscribe(MAIN_ROOM, (p) => atTwo.push(p));
      const until = async (done: () => boolean, what: string) => {
        const deadline = Date.now() + 15_000;
        while (!done()) {
          if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await server.kill();
      await until(() => one.degraded, "node one to notice");
      const say = (text: string) =>
        one.publish(MAIN_ROOM, { type: "message", from: "alice", text, kind: "say" }, alice);
      const shown = [await say("m1"), await say("m2")];
      // Shown to the node's own subscribers at once, pending, with provisional ids in order.
      assert.deepEqual(atOne.map((p) => p.event), shown.map((p) => p.event));
      assert.ok(shown.every((p) => p.event.type === "message" && p.event.pending === true));
      // Past the limit: refused, said once in the log, nothing shown.
      await assert.rejects(say("m3"), BrokerUnavailableError);
      await assert.rejects(say("m4"), BrokerUnavailableError);
      assert.equal(errors.filter((e) => /2 messages are waiting for Redis/.test(e)).length, 1);
      assert.equal(atOne.length, 2);
      // Its own members are known; anyone else has to wait.
      assert.deepEqual((await one.lookupName("ALICE"))?.holder, alice);
      await assert.rejects(one.lookupName("bob"), /degraded.*try again/);
      assert.ok(!(await one.claimName("Alice", { node: one.node, id: 2 })), "still one alice");

      await server.restart();
      await until(() => !one.degraded, "node one to be whole again");
      const texts = (list: Published[]) =>
        list.flatMap((p) => p.event.type === "message" ? [`${p.event.text}@${p.event.ts}`] : []);
      await until(() => texts(atTwo).length === 2, "node two to get what node one kept");
      assert.deepEqual(texts(atTwo), texts(shown), "in order, with the time shown");
      assert.equal(atOne.length, 2, "not shown twice on node one");
      const history = await two.history(MAIN_ROOM, { limit: 10 });
      assert.deepEqual(history.map((m) => m.text), ["m1", "m2"]);
      assert.ok(history.every((m) => m.pending === undefined));
      assert.deepEqual(await two.members(MAIN_ROOM), ["alice"]);
    } finally {
      await one.close();
      await two.close();
    }
  },
});

Deno.test({
  name:
    "redis broker: nobody is taken for lost while a node coming back from an outage asks for calm",
  ignore: !REDIS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await RedisServer.start();
    const one = await RedisBroker.connect({ url: server.url, cluster: "calm", nodeTimeoutMs: 300 });
    try {
      // A node that registered and went silent, while the cluster is calm for a second.
      assert.equal(await redisCommand(server.port, "SET calm:calm 1 PX 1000"), "+OK");
      assert.equal(await redisCommand(server.port, "ZADD calm:nodes 1 ghost"), ":1");
      const ghost = () => redisCommand(server.port, "ZSCORE calm:nodes ghost");
      const deadline = Date.now() + 10_000;
      // Node one beats every 100 ms: within the calm it judges nobody...
      while (
        Date.now() < deadline && (await redisCommand(server.port, "EXISTS calm:calm")) === ":1"
      ) {
        assert.notEqual(await ghost(), "$-1", "the ghost was reaped during the calm");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // ...and after it, the silent node is taken for lost as usual.
      while (Date.now() < deadline && (await ghost()) !== "$-1") {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(await ghost(), "$-1", "the ghost is reaped once the calm is over");
    } finally {
      await one.close();
    }
  },
});
