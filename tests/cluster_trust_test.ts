/**
 * End-to-end tests of what the nodes of a cluster share besides the chat: owned names and the
 * operators' decisions. A real `redis-server` on a free port and two `main.ts serve --redis`
 * processes; skipped, saying why, only when `redis-server` cannot be run here.
 */

import assert from "node:assert/strict";
import { clusterTest, startNode } from "./support/cluster.ts";
import { newIdentity } from "../client/identity.ts";
import {
  joinAs,
  joinJson,
  type ServeProcess,
  waitUntil,
  type WireClient,
  type WireEvent,
} from "./support/net.ts";
import { RedisServer } from "./support/redis_server.ts";

/** Starts a node of the cluster on `redis`. */
function node(redis: RedisServer, ...args: string[]): Promise<ServeProcess> {
  return startNode(redis, "trust", ...args);
}

const test = clusterTest;

/** Sends an operator's command and returns the first `mod`, `bans` or `error` answer. */
async function command(op: WireClient, event: Record<string, unknown>): Promise<WireEvent> {
  await op.sendJson({ type: "mod", ...event });
  return await op.waitForEvent((e) => e.type === "mod" || e.type === "bans" || e.type === "error");
}

test("a name an identity owns on one node is its own on the other", async () => {
  await using redis = await RedisServer.start();
  await using one = await node(redis);
  await using two = await node(redis);
  const owner = await newIdentity();
  const other = await newIdentity();
  const first = await joinAs(one.port, "Alice", owner);
  assert.equal(first.answer.type, "welcome");
  const clients: WireClient[] = [first.client];
  try {
    // While the owner is on node one, and after it left, node two refuses the name to others.
    const thief = await joinAs(two.port, "alice", other);
    clients.push(thief.client);
    assert.equal(thief.answer.code, "name_owned", JSON.stringify(thief.answer));
    assert.match(String(thief.answer.message), /belongs to another identity \(SHA256:/);
    await first.client.close();
    await waitUntil(async () => {
      const probe = await joinJson(two.port, "alice").catch((error: Error) => error);
      if (!(probe instanceof Error)) {
        await probe.client.close();
        throw new Error("A client without the key was given the owned name on node two");
      }
      return /name_owned/.test(probe.message);
    }, "node two to refuse the owned name once its owner left node one");
    // The other identity cannot /nick to it on node two either.
    assert.equal((await joinAs(two.port, "mallory", other)).answer.type, "welcome");
    const mallory = await joinAs(two.port, "mallory2", other);
    clients.push(mallory.client);
    await mallory.client.sendJson({ type: "nick", name: "ALICE" });
    assert.equal((await mallory.client.waitForEvent("error")).code, "name_owned");
    // The owner takes it on node two.
    const back = await joinAs(two.port, "alice", owner);
    clients.push(back.client);
    assert.equal(back.answer.type, "welcome");
    assert.equal(back.answer.name, "alice");
  } finally {
    for (const client of clients) await client.close();
  }
});

test("a ban on one node disconnects the member from another, keeps it out of both; unban too", async () => {
  await using redis = await RedisServer.start();
  const opIdentity = await newIdentity();
  await using one = await node(redis, "--op", opIdentity.fingerprint);
  await using two = await node(redis, "--op", opIdentity.fingerprint);
  const bobIdentity = await newIdentity();
  const { client: op, answer } = await joinAs(one.port, "op", opIdentity);
  assert.equal(answer.op, true);
  const bob = await joinAs(two.port, "bob", bobIdentity);
  const carol = await joinJson(two.port, "carol");
  const clients = [op, bob.client, carol.client];
  try {
    await op.waitForEvent((e) => e.type === "join" && e.name === "carol");

    // A mute on node one silences carol on node two; an unmute lets her speak again.
    const muted = await command(op, { action: "mute", target: "carol" });
    assert.equal(muted.action, "mute", JSON.stringify(muted));
    assert.equal((await carol.client.waitForEvent("mod")).action, "mute");
    await carol.client.sendJson({ type: "say", text: "hello?" });
    assert.equal((await carol.client.waitForEvent("error")).code, "muted");
    assert.equal((await command(op, { action: "unmute", target: "carol" })).action, "unmute");
    await carol.client.waitForEvent((e) => e.type === "mod" && e.action === "unmute");
    await carol.client.sendJson({ type: "say", text: "back" });
    await op.waitForEvent((e) => e.type === "message" && e.text === "back");

    // A kick on node one closes carol on node two.
    assert.equal((await command(op, { action: "kick", target: "carol" })).action, "kick");
    assert.equal((await carol.client.waitForEvent("mod")).action, "kick");
    await carol.client.waitClosed();

    // The ban: bob is told and disconnected on node two, and the room hears he was banned.
    const ack = await command(op, { action: "ban", target: "bob", reason: "spam" });
    assert.deepEqual([ack.type, ack.action, ack.target], ["mod", "ban", "bob"]);
    const told = await bob.client.waitForEvent("mod");
    assert.deepEqual([told.action, told.reason], ["ban", "spam"]);
    await bob.client.waitClosed();
    const leave = await op.waitForEvent((e) => e.type === "leave" && e.name === "bob");
    assert.equal(leave.reason, "banned");
    for (const port of [two.port, one.port]) {
      const again = await joinAs(port, "robert", bobIdentity);
      clients.push(again.client);
      assert.equal(again.answer.code, "banned", `node on ${port}: ${JSON.stringify(again.answer)}`);
    }
    const list = await command(op, { action: "bans" });
    assert.deepEqual(
      (list.bans as { target: string }[]).map((b) => b.target),
      [bobIdentity.fingerprint],
    );

    // Lifted on node one (by name, though bob is nowhere now): he joins node two again.
    assert.equal((await command(op, { action: "unban", target: "bob" })).action, "unban");
    await waitUntil(async () => {
      const attempt = await joinAs(two.port, "bob", bobIdentity);
      clients.push(attempt.client);
      return attempt.answer.type === "welcome";
    }, "node two to let bob in once the ban is lifted on node one");
  } finally {
    for (const client of clients) await client.close();
  }
});

test("a node started after a ban keeps the banned identity out", async () => {
  await using redis = await RedisServer.start();
  const opIdentity = await newIdentity();
  const bobIdentity = await newIdentity();
  await using one = await node(redis, "--op", opIdentity.fingerprint);
  const { client: op } = await joinAs(one.port, "op", opIdentity);
  try {
    const ack = await command(op, { action: "ban", target: bobIdentity.fingerprint });
    assert.equal(ack.action, "ban");
  } finally {
    await op.close();
  }
  await using two = await node(redis);
  const refused = await joinAs(two.port, "bob", bobIdentity);
  await refused.client.close();
  assert.equal(refused.answer.code, "banned");
});
