/**
 * Persistence with real `chat serve` processes on a real SQLite file in a temporary data dir:
 * restarts, `kill -9` mid-burst, "since you left", `chat export` beside a running server, a
 * database that cannot be written, a newer database.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { newIdentity } from "../client/identity.ts";
import { joinJson, runChat, ServeProcess, WireClient, type WireEvent } from "./support/net.ts";
import { JsonMember } from "./support/processes.ts";
import { tempDir } from "./support/temp.ts";

const PLAIN = ["--no-tls"];

/** Every event a client has received so far, parsed. */
function eventsOf(client: WireClient): WireEvent[] {
  return client.received.flatMap((body) => {
    try {
      return [JSON.parse(body) as WireEvent];
    } catch {
      return [];
    }
  });
}

/** Joins with an Ed25519 key on the plain port; returns the welcome. */
async function joinWithKey(
  port: number,
  name: string,
  identity: Awaited<ReturnType<typeof newIdentity>>,
): Promise<{ client: WireClient; welcome: WireEvent }> {
  const client = await WireClient.connect(port);
  await client.sendJson({ type: "hello", name, protocol: 1, key: identity.publicKey });
  const challenge = await client.nextEvent();
  assert.equal(challenge.type, "challenge", JSON.stringify(challenge));
  await client.sendJson({
    type: "auth",
    signature: await identity.sign(challenge.nonce as string, name),
  });
  const welcome = await client.nextEvent();
  assert.equal(welcome.type, "welcome", JSON.stringify(welcome));
  return { client, welcome };
}

Deno.test("persist: a restart keeps every room's messages, ids and epoch", async () => {
  const data = tempDir("chat-persist-");
  let epoch: unknown;
  {
    await using server = await ServeProcess.start(["--data", data, ...PLAIN]);
    const { client, welcome } = await joinJson(server.port, "ann");
    epoch = welcome.epoch;
    for (let i = 1; i <= 5; i++) await client.sendJson({ type: "say", text: `m${i}` });
    await client.waitFor((body) => body.includes('"m5"'), "the last echo");
    await client.close();
  }
  await using server = await ServeProcess.start(["--data", data, ...PLAIN]);
  const { client, welcome } = await joinJson(server.port, "bob");
  try {
    assert.equal(welcome.epoch, epoch, "the epoch survives, so a resume still holds");
    await client.waitFor((body) => body.includes('"m5"'), "the replayed history");
    const replayed = eventsOf(client).filter((e) => e.type === "message");
    assert.deepEqual(replayed.map((e) => e.text), ["m1", "m2", "m3", "m4", "m5"]);
    assert.ok(replayed.every((e) => e.history === true));
    await client.sendJson({ type: "say", text: "after" });
    const next = await client.waitForEvent((e) => e.type === "message" && e.text === "after");
    assert.equal(next.id, (replayed.at(-1)!.id as number) + 1, "ids go on where they were");
  } finally {
    await client.close();
  }
});

Deno.test("persist: kill -9 mid-burst loses no echoed message and replays none twice", async () => {
  const data = tempDir("chat-persist-");
  const echoed: number[] = [];
  {
    const server = await ServeProcess.start([
      "--data",
      data,
      ...PLAIN,
      "--rate-per-second",
      "0",
    ]);
    const { client } = await joinJson(server.port, "ann");
    const sending = (async () => {
      for (let i = 0; i < 2000 && !server.exited; i++) {
        try {
          await client.sendJson({ type: "say", text: `burst ${i}` });
        } catch {
          break;
        }
      }
    })();
    await client.waitFor((body) => body.includes('"burst 300"'), "part of the burst");
    server.child.kill("SIGKILL");
    await server.status;
    await sending;
    await client.closed;
    for (const event of eventsOf(client)) {
      if (event.type === "message") echoed.push(event.id as number);
    }
    await client.close();
    await server.stop();
  }
  assert.ok(echoed.length >= 300, `echoes seen: ${echoed.length}`);
  await using server = await ServeProcess.start([
    "--data",
    data,
    ...PLAIN,
    "--history",
    "5000",
  ]);
  const { client } = await joinJson(server.port, "bob");
  try {
    const last = echoed.at(-1)!;
    await client.waitFor((body) => body.includes(`"id":${last},`), "the last echoed message");
    await client.sendJson({ type: "ping", id: "end" });
    await client.waitForEvent("pong");
    const ids = eventsOf(client).filter((e) => e.type === "message").map((e) => e.id as number);
    assert.equal(new Set(ids).size, ids.length, "no message replayed twice");
    const stored = new Set(ids);
    const lost = echoed.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], "every echoed message survived");
  } finally {
    await client.close();
  }
});

Deno.test("persist: an identity that comes back gets what it missed, marked", async () => {
  const data = tempDir("chat-persist-");
  await using server = await ServeProcess.start(["--data", data, ...PLAIN, "--history", "2"]);
  const identity = await newIdentity();
  const { client: ann } = await joinJson(server.port, "ann");
  const first = await joinWithKey(server.port, "carol", identity);
  await first.client.close();
  await ann.waitForEvent((e) => e.type === "leave" && e.name === "carol");
  for (let i = 1; i <= 4; i++) await ann.sendJson({ type: "say", text: `missed ${i}` });
  await ann.waitFor((body) => body.includes('"missed 4"'), "the last echo");
  const back = await joinWithKey(server.port, "carol", identity);
  try {
    assert.equal(back.welcome.unread, 4, JSON.stringify(back.welcome));
    await back.client.waitFor((body) => body.includes('"missed 4"'), "the missed messages");
    const replayed = eventsOf(back.client).filter((e) => e.type === "message");
    // All four, though --history is 2.
    assert.deepEqual(replayed.map((e) => e.text), ["missed 1", "missed 2", "missed 3", "missed 4"]);
  } finally {
    await back.client.close();
    await ann.close();
  }
});

Deno.test("persist: more than 1000 missed: a gap says how many were skipped, then the latest 1000", async () => {
  const data = tempDir("chat-persist-");
  await using server = await ServeProcess.start([
    "--data",
    data,
    ...PLAIN,
    "--history",
    "2",
    "--rate-per-second",
    "0",
  ]);
  const identity = await newIdentity();
  const { client: ann } = await joinJson(server.port, "ann");
  const first = await joinWithKey(server.port, "carol", identity);
  await first.client.close();
  await ann.waitForEvent((e) => e.type === "leave" && e.name === "carol");
  for (let i = 1; i <= 1005; i++) await ann.sendJson({ type: "say", text: `missed ${i}` });
  const last = await ann.waitForEvent((e) => e.type === "message" && e.text === "missed 1005");
  const echoes = eventsOf(ann).filter((e) => e.type === "message");
  const back = await joinWithKey(server.port, "carol", identity);
  const resumed = await joinJson(server.port, "dave", {
    hello: {
      resume: { room: "#main", after: echoes[2]!.id, epoch: back.welcome.epoch },
    },
  });
  try {
    assert.equal(back.welcome.unread, 1000, JSON.stringify(back.welcome));
    const gap = await back.client.nextEvent();
    assert.deepEqual(gap, { type: "gap", room: "#main", reason: "too_many", skipped: 5 });
    await back.client.waitForEvent((e) => e.type === "message" && e.id === last.id);
    const replayed = eventsOf(back.client).filter((e) => e.type === "message");
    assert.deepEqual(
      replayed.map((e) => e.text),
      Array.from({ length: 1000 }, (_, i) => `missed ${i + 6}`),
      "the latest 1000, in order, once each",
    );
    // A resume after the third: 1002 said since, the latest 1000 follow the gap.
    const resumedGap = await resumed.client.nextEvent();
    assert.deepEqual(resumedGap, { type: "gap", room: "#main", reason: "too_many", skipped: 2 });
    const next = await resumed.client.nextEvent();
    assert.equal(next.text, "missed 6");
  } finally {
    await resumed.client.close();
    await back.client.close();
    await ann.close();
  }
});

Deno.test("persist: chat export prints NDJSON while the server runs", async () => {
  const data = tempDir("chat-persist-");
  await using server = await ServeProcess.start(["--data", data, ...PLAIN]);
  const { client } = await joinJson(server.port, "ann");
  try {
    await client.sendJson({ type: "say", text: "one" });
    await client.sendJson({ type: "room", name: "#ops" });
    await client.waitForEvent("moved");
    await client.sendJson({ type: "say", text: "two" });
    await client.waitFor((body) => body.includes('"two"'), "the echo");
    const all = await runChat(["export", "--data", data]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((m) => [m.room, m.text, m.from]), [
      ["#main", "one", "ann"],
      ["#ops", "two", "ann"],
    ]);
    const ops = await runChat(["export", "--data", data, "--room", "#ops"]);
    assert.deepEqual(ops.stdout.trim().split("\n").map((line) => JSON.parse(line).text), ["two"]);
    const later = await runChat(["export", "--data", data, "--since", "2999-01-01"]);
    assert.equal(later.stdout, "");
    const bad = await runChat(["export", "--data", data, "--since", "soon"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since value must be a date/);
  } finally {
    await client.close();
  }
});

/** Whether `chattr +i` works here (ext4 and friends, as root): it stops even root's writes. */
async function canMakeImmutable(dir: string): Promise<boolean> {
  const probe = `${dir}/probe`;
  Deno.writeTextFileSync(probe, "x");
  try {
    const set = await new Deno.Command("chattr", { args: ["+i", probe], stderr: "null" }).output();
    if (!set.success) return false;
    await new Deno.Command("chattr", { args: ["-i", probe] }).output();
    return true;
  } catch {
    return false;
  } finally {
    try {
      Deno.removeSync(probe);
    } catch {
      // Left for the temp dir's cleanup.
    }
  }
}

async function chattr(flag: string, ...paths: string[]): Promise<void> {
  const result = await new Deno.Command("chattr", { args: [flag, ...paths] }).output();
  assert.ok(result.success, new TextDecoder().decode(result.stderr));
}

Deno.test("persist: a database that cannot be written is logged, chat goes on, and it is retried", async (t) => {
  const data = tempDir("chat-persist-");
  if (!(await canMakeImmutable(data))) {
    // We run as root, where chmod does not stop writes; `chattr +i` does, where supported.
    t.step({ name: "chattr +i is not available here", ignore: true, fn: () => {} });
    return;
  }
  await using server = await ServeProcess.start(["--data", data, ...PLAIN]);
  const files = [`${data}/chat.db`, `${data}/chat.db-wal`];
  const { client } = await joinJson(server.port, "ann");
  try {
    await client.sendJson({ type: "say", text: "before" });
    await client.waitFor((body) => body.includes('"before"'), "the first echo");
    await chattr("+i", ...files);
    try {
      await client.sendJson({ type: "say", text: "while broken" });
      await client.waitFor((body) => body.includes('"while broken"'), "the echo from memory");
      await server.waitForStderr("database_write_failed");
    } finally {
      await chattr("-i", ...files);
    }
    await server.waitForStderr("database_write_recovered");
    await client.sendJson({ type: "say", text: "after" });
    await client.waitFor((body) => body.includes('"after"'), "the last echo");
    assert.ok(!server.exited, "it never crashed");
    const exported = await runChat(["export", "--data", data]);
    assert.deepEqual(
      exported.stdout.trim().split("\n").map((line) => JSON.parse(line).text),
      ["before", "while broken", "after"],
    );
  } finally {
    await client.close();
  }
});

Deno.test("persist: a database from a newer chat is refused at start, naming it", async () => {
  const data = tempDir("chat-persist-");
  const db = new DatabaseSync(`${data}/chat.db`);
  db.exec("PRAGMA user_version = 99");
  db.close();
  const run = await runChat(["serve", "--host", "127.0.0.1", "--port", "0", "--data", data]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /schema version 99.*newer chat/);
});

/** A port that was free a moment ago, for a server restarted on the same address. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("persist: chat join resumes across a server restart, no duplicate and no hole", async () => {
  const data = tempDir("chat-persist-");
  const port = freePort();
  const args = ["--data", data, ...PLAIN, "--port", String(port)];
  const first = await ServeProcess.start(args);
  const dave = new JsonMember(port, "dave");
  try {
    await dave.waitForEvent((e) => e.type === "welcome", "dave's welcome");
    const { client: ann } = await joinJson(port, "ann");
    await ann.sendJson({ type: "say", text: "m1" });
    await ann.sendJson({ type: "say", text: "m2" });
    await dave.waitForMessage("ann", "m2");
    await ann.close();
    first.child.kill("SIGKILL");
    await first.status;
    await first.stop();
    await using second = await ServeProcess.start(args);
    // Said while dave is still away: its resume brings it back.
    const again = await joinJson(second.port, "ann2");
    await again.client.sendJson({ type: "say", text: "m3" });
    await again.client.waitFor((body) => body.includes('"m3"'), "the echo");
    await dave.waitForMessage("ann2", "m3");
    await again.client.sendJson({ type: "say", text: "m4" });
    await dave.waitForMessage("ann2", "m4");
    const texts = dave.events.filter((e) => e.type === "message").map((e) => e.text);
    assert.deepEqual(texts, ["m1", "m2", "m3", "m4"]);
    assert.ok(!dave.events.some((e) => e.type === "gap"), "the epoch held: no gap");
    await again.client.close();
  } finally {
    await dave.close();
    await first.stop();
  }
});
