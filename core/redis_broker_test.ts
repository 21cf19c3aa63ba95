import assert from "node:assert/strict";
import { brokerContract } from "../tests/support/broker_contract.ts";
import {
  freePort,
  REDIS_AVAILABLE,
  REDIS_SKIP_REASON,
  RedisServer,
} from "../tests/support/redis_server.ts";
import { checkRedisUrl, RedisBroker, RedisUnavailableError } from "./redis_broker.ts";

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
