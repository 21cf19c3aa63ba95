import assert from "node:assert/strict";
import { nameOwnershipContract } from "../tests/support/name_ownership_contract.ts";
import { REDIS_AVAILABLE, REDIS_SKIP_REASON, RedisServer } from "../tests/support/redis_server.ts";
import { Moderation, type ModerationAct } from "./moderation.ts";
import { RedisTrust } from "./redis_trust.ts";

let shared: RedisServer | null = null;
let clusters = 0;

/** One Redis for every test here; each test gets a cluster name (key prefix) of its own. */
async function redis(): Promise<RedisServer> {
  shared ??= await RedisServer.start();
  return shared;
}

/** Opens `count` nodes' trust on one fresh cluster. */
async function openNodes(
  count: number,
  nameDays = 90,
  now: () => number = Date.now,
): Promise<RedisTrust[]> {
  const server = await redis();
  const cluster = `trust${++clusters}-${Date.now()}`;
  const nodes: RedisTrust[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await RedisTrust.connect({ url: server.url, cluster, node: `n${i}`, nameDays, now }),
    );
  }
  return nodes;
}

const opened: RedisTrust[] = [];
nameOwnershipContract(
  `redis${REDIS_AVAILABLE ? "" : `, ${REDIS_SKIP_REASON}`}`,
  () => ({
    open: async (count, nameDays, now) => {
      const nodes = await openNodes(count, nameDays, now);
      opened.push(...nodes);
      return nodes;
    },
    close: async () => {
      await Promise.all(opened.splice(0).map((node) => node.close()));
    },
  }),
  !REDIS_AVAILABLE,
);

const FP = "SHA256:" + "A".repeat(43);

Deno.test({
  name: `RedisTrust: a decision on one node is kept and reaches the others at once${
    REDIS_AVAILABLE ? "" : ` (${REDIS_SKIP_REASON})`
  }`,
  ignore: !REDIS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const [a, b] = await openNodes(2);
    try {
      const one = new Moderation(a!.moderation);
      const two = new Moderation(b!.moderation);
      const heard: ModerationAct[] = [];
      two.onRemoteAct((act) => heard.push(act));
      await one.ban({ target: FP, kind: "identity", name: "bob", by: "op", until: 9e12 });
      await one.mute({ target: "10.0.0.2", by: "op" });
      await one.addOp("SHA256:" + "B".repeat(43), "op");
      const deadline = Date.now() + 5000;
      while (heard.length < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(heard.length, 3, "the other node heard every act");
      assert.equal(two.banOf(FP)?.name, "bob");
      assert.equal(two.muteOf("10.0.0.2")?.by, "op");
      assert.ok(two.isOp("SHA256:" + "B".repeat(43)));
      // A node started later reads them from Redis.
      const [late] = await openNodesOn(a!);
      try {
        const three = new Moderation(late!.moderation);
        assert.equal(three.banOf(FP)?.until, 9e12);
        assert.ok(three.muteOf("10.0.0.2") !== undefined);
        await one.unban(FP);
        const until = Date.now() + 5000;
        while (two.banOf(FP) !== undefined && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.equal(two.banOf(FP), undefined, "the unban reached the other node");
        assert.equal(new Moderation(late!.moderation).bans().length, 1, "read once, at start");
      } finally {
        await late!.close();
      }
      const [fresh] = await openNodesOn(a!);
      assert.equal(new Moderation(fresh!.moderation).banOf(FP), undefined, "the unban was kept");
      await fresh!.close();
    } finally {
      await a!.close();
      await b!.close();
    }
  },
});

Deno.test({
  name: `RedisTrust: a node that lost the channel reads the decisions again and acts on them${
    REDIS_AVAILABLE ? "" : ` (${REDIS_SKIP_REASON})`
  }`,
  ignore: !REDIS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const [a, b] = await openNodes(2);
    const admin = await Deno.connect({ hostname: "127.0.0.1", port: shared!.port });
    try {
      const one = new Moderation(a!.moderation);
      const two = new Moderation(b!.moderation);
      await one.mute({ target: "10.0.0.3", by: "op" });
      const heard: ModerationAct[] = [];
      two.onRemoteAct((act) => heard.push(act));
      await waitFor(() => two.muteOf("10.0.0.3") !== undefined, "the mute to reach node two");
      // Cut every subscriber off (both nodes' channels); ioredis reconnects them after 100 ms or
      // more, and what is announced meanwhile reaches nobody.
      await admin.write(new TextEncoder().encode("CLIENT KILL TYPE pubsub\r\n"));
      await one.ban({ target: FP, kind: "identity", by: "op" });
      await one.unmute("10.0.0.3");
      await waitFor(() => b!.reloads >= 1, "node two to read the decisions again");
      await waitFor(
        () => two.banOf(FP) !== undefined && two.muteOf("10.0.0.3") === undefined,
        "node two to know the ban and the unmute",
      );
      assert.ok(heard.some((act) => act.change?.kind === "ban"), JSON.stringify(heard));
      assert.ok(heard.some((act) => act.change?.kind === "unmute"), JSON.stringify(heard));
    } finally {
      admin.close();
      await a!.close();
      await b!.close();
    }
  },
});

/** Waits (bounded) until `ok` holds. */
async function waitFor(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Connects a node to a cluster on the Redis at `url`, names kept 90 days. */
function connectNode(url: string, cluster: string, node: string): Promise<RedisTrust> {
  return RedisTrust.connect({ url, cluster, node, nameDays: 90 });
}

/** Opens one more node on the cluster of `node`. */
function openNodesOn(node: RedisTrust): Promise<RedisTrust[]> {
  return connectNode(shared!.url, node.cluster, `late${Math.random()}`).then((trust) => [trust]);
}

Deno.test({
  name: "RedisTrust: stop the shared Redis",
  ignore: !REDIS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await shared?.stop();
    shared = null;
  },
});

Deno.test({
  name:
    `RedisTrust: while Redis is down owned names are answered from what the node saw, and claims wait for it${
      REDIS_AVAILABLE ? "" : ` (${REDIS_SKIP_REASON})`
    }`,
  ignore: !REDIS_AVAILABLE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await RedisServer.start({ persist: true });
    const other = "SHA256:" + "B".repeat(43);
    const trust = await connectNode(server.url, "down", "n1");
    try {
      assert.ok((await trust.claim("alice", FP)).granted);
      await server.kill();
      // Answered at once (not waiting for Redis) once the node knows Redis is gone.
      const deadline = Date.now() + 10_000;
      const answer = () =>
        Promise.race([
          trust.ownerOf("ALICE"),
          new Promise<string>((resolve) => setTimeout(() => resolve("waiting"), 200)),
        ]);
      let owner = await answer();
      while (owner === "waiting" && Date.now() < deadline) owner = await answer();
      assert.equal(owner, FP, "the owner this node saw");
      assert.equal((await trust.claim("Alice", other)).granted, false);
      const granted = await trust.claim("bob", other);
      assert.deepEqual(granted, { granted: true, fresh: true });
      await server.restart();
      // The claim made meanwhile reaches Redis once it is back.
      const check = await connectNode(server.url, "down", "n2");
      try {
        const until = Date.now() + 10_000;
        while ((await check.ownerOf("bob")) !== other && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.equal(await check.ownerOf("bob"), other);
        assert.equal(await check.ownerOf("alice"), FP);
      } finally {
        await check.close();
      }
    } finally {
      await trust.close();
    }
  },
});
