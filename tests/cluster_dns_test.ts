/**
 * `chat join NAME` where NAME has several addresses: the client tries each, and fails over
 * between them as between `HOST1,HOST2`. Two nodes of a cluster listen on the same port, one on
 * 127.0.0.1 and one on ::1, and the client joins `localhost:PORT`.
 *
 * This machine's /etc/hosts gives `localhost` only 127.0.0.1 (many do; others add ::1), so the
 * client runs in a mount namespace of its own (`unshare -rm`) where a hosts file naming both is
 * bound over /etc/hosts: the real file is never touched, and the client resolves the name the
 * ordinary way (getaddrinfo reads /etc/hosts). Skipped, saying why, where `unshare` cannot do
 * that or `redis-server` cannot be run.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JsonMember } from "./support/processes.ts";
import { clusterTest, startNode } from "./support/cluster.ts";
import {
  joinJson,
  type ServeProcess,
  waitUntil,
  type WireClient,
  type WireEvent,
} from "./support/net.ts";
import {
  freePort,
  REDIS_AVAILABLE,
  REDIS_SKIP_REASON,
  RedisServer,
} from "./support/redis_server.ts";
import { tempFile } from "./support/temp.ts";

const HOSTS = "127.0.0.1 localhost\n::1 localhost\n";

/** Runs a command with a hosts file of its own bound over /etc/hosts (a private namespace). */
function withHosts(hostsFile: string, command: string, args: readonly string[]): string[] {
  return [
    "-rm",
    "sh",
    "-c",
    'mount --bind "$0" /etc/hosts && exec "$@"',
    hostsFile,
    command,
    ...args,
  ];
}

/** Why the test cannot run here, or undefined when it can. */
async function skipReason(): Promise<string | undefined> {
  if (!REDIS_AVAILABLE) return REDIS_SKIP_REASON;
  const file = tempFile("chat-hosts-");
  try {
    await Deno.writeTextFile(file, HOSTS);
    const { success, stdout } = await new Deno.Command("unshare", {
      args: withHosts(file, "getent", ["ahosts", "localhost"]),
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(stdout);
    if (success && text.includes("::1") && text.includes("127.0.0.1")) {
      return undefined;
    }
    return "skipped: unshare -rm cannot give a process a hosts file of its own here";
  } catch {
    return "skipped: unshare is not installed (util-linux)";
  } finally {
    await Deno.remove(file);
  }
}

const SKIP = await skipReason();

function test(name: string, fn: () => Promise<void>): void {
  clusterTest(name, fn, SKIP);
}

/** Two nodes on one port, at 127.0.0.1 and ::1, a third for carol, and `chat join localhost`. */
async function withLocalhostCluster(
  run: (cluster: {
    /** The node alice joined first, and the node at the name's other address. */
    readonly first: ServeProcess;
    readonly other: ServeProcess;
    readonly carol: WireClient;
    /** The messages from carol alice's client printed, in order. */
    texts(): string[];
    /** Every event alice's client printed. */
    events(): WireEvent[];
    /** True once the node logged alice's join (as many times as `count`). */
    joinedAt(server: ServeProcess, count?: number): boolean;
    until(ok: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  }) => Promise<void>,
): Promise<void> {
  await using redis = await RedisServer.start();
  const port = freePort();
  const node = (host: string, nodePort: number) =>
    startNode(
      redis,
      "dns",
      "--ping-interval",
      "5",
      "--no-tls",
      // A history of 2 on join: only a resume brings back all three messages said while away.
      "--history",
      "2",
      "--host",
      host,
      "--port",
      String(nodePort),
    );
  await using v4 = await node("127.0.0.1", port);
  await using v6 = await node("::1", port);
  // Carol is on a third node, which stays up whichever of the two fails.
  await using third = await node("127.0.0.1", 0);
  const carol = await joinJson(third.port, "carol");
  const hosts = tempFile("chat-cluster-dns-hosts-");
  await Deno.writeTextFile(hosts, HOSTS);
  const alice = new JsonMember(`localhost:${port}`, "alice", {
    wrap: (command, args) => ["unshare", withHosts(hosts, command, args)],
    lifetimeMs: 120_000,
  });
  const events = () => alice.events;
  const until = (ok: () => boolean, what: string, timeoutMs = 30_000) =>
    waitUntil(
      ok,
      `${what} (stdout: ${alice.stdout.slice(-600)}, stderr: ${alice.stderr.slice(-600)})`,
      timeoutMs,
    );
  const joinedAt = (server: ServeProcess, count = 1) =>
    (server.stderr.match(/ join name=alice /g) ?? []).length >= count;
  try {
    await carol.client.waitForEvent((e) => e.type === "join" && e.name === "alice", 30_000);
    await until(() => joinedAt(v4) || joinedAt(v6), "a node logs alice's join");
    const [first, other] = joinedAt(v4) ? [v4, v6] : [v6, v4];
    await run({
      first,
      other,
      carol: carol.client,
      events,
      texts: () =>
        events().flatMap((e) => e.type === "message" && e.from === "carol" ? [String(e.text)] : []),
      joinedAt,
      until,
    });
  } finally {
    await alice.close();
    await carol.client.close();
    await Deno.remove(hosts);
  }
}

test("chat join localhost:PORT, a name with two addresses, carries on at the other", async () => {
  await withLocalhostCluster(async ({ first, other, carol, texts, events, joinedAt, until }) => {
    for (let i = 1; i <= 3; i++) await carol.sendJson({ type: "say", text: `m${i}` });
    await until(() => texts().includes("m3"), "alice hears m3 on her first node");
    await first.stop("SIGKILL");
    for (let i = 4; i <= 6; i++) await carol.sendJson({ type: "say", text: `m${i}` });
    // Alice comes back at the name's other address once her old node is found lost.
    await carol.waitForEvent((e) => e.type === "join" && e.name === "alice", 30_000);
    await until(() => joinedAt(other), "the other address's node logs alice's join");
    await carol.sendJson({ type: "say", text: "live" });
    await until(() => texts().includes("live"), "alice hears the live message");
    assert.deepEqual(
      texts(),
      ["m1", "m2", "m3", "m4", "m5", "m6", "live"],
      "no duplicate, no hole",
    );
    assert.ok(!events().some((e) => e.type === "gap"), "no gap");
  });
});

test("chat join localhost:PORT moves to the other address when the first one's node freezes", async () => {
  // A frozen machine (here: its node stopped with SIGSTOP) still accepts connections and never
  // answers: the client must not keep going back to it.
  await withLocalhostCluster(async ({ first, other, carol, texts, events, joinedAt, until }) => {
    for (let i = 1; i <= 3; i++) await carol.sendJson({ type: "say", text: `m${i}` });
    await until(() => texts().includes("m3"), "alice hears m3 on her first node");
    Deno.kill(first.child.pid, "SIGSTOP");
    try {
      // The cluster finds the frozen node lost; alice's client finds its connection silent.
      await carol.waitForEvent((e) => e.type === "leave" && e.name === "alice", 30_000);
      for (let i = 4; i <= 6; i++) await carol.sendJson({ type: "say", text: `m${i}` });
      await carol.waitForEvent((e) => e.type === "join" && e.name === "alice", 90_000);
      await until(() => joinedAt(other), "the other address's node logs alice's join");
      await carol.sendJson({ type: "say", text: "live" });
      await until(() => texts().includes("live"), "alice hears the live message");
      assert.deepEqual(
        texts(),
        ["m1", "m2", "m3", "m4", "m5", "m6", "live"],
        "no duplicate, no hole",
      );
      assert.ok(!events().some((e) => e.type === "gap"), "no gap");
    } finally {
      Deno.kill(first.child.pid, "SIGCONT");
    }
  });
});
