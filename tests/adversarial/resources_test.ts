/**
 * Adversarial suite, resources (issue 6, conditions 8, 16, 18 and 19): file descriptors run
 * out, connections die mid-frame or by reset, thousands of join/leave cycles, and SIGTERM with
 * 500 clients chatting. Each runs `main.ts serve` as a process and reads its `/proc` entries.
 */

import assert from "node:assert/strict";
import {
  Bystanders,
  concat,
  cpuSeconds,
  hasPython,
  memoryKb,
  rawConnect,
  rawHeader,
  reportFigure,
  runPool,
  runPython,
  writeAll,
} from "../support/adversary.ts";
import {
  closeAll,
  delay,
  hasProc,
  joinJson,
  joinLine,
  joinPlain,
  openFdCount,
  parseEvent,
  ServeProcess,
  waitUntil,
  WireClient,
} from "../support/net.ts";

const encoder = new TextEncoder();
const canReadProc = hasProc();

Deno.test({
  name:
    "condition 8: with file descriptors exhausted the server neither crashes nor spins, and serves again once connections close",
  ignore: !canReadProc,
  async fn() {
    await using server = await ServeProcess.start([], 30_000, { maxOpenFiles: 64 });
    const bystanders = await Bystanders.start(server.port);
    const extra: Deno.TcpConn[] = [];
    try {
      const baseFds = await openFdCount(server.pid);
      // More connections than the server has descriptors for: the kernel queues the rest.
      for (let i = 0; i < 120; i++) extra.push(await rawConnect(server.port));
      await server.waitForStderr("accept_error");
      reportFigure(
        "condition 8 descriptors",
        `${baseFds} before, ${await openFdCount(server.pid)} with 120 more connections waiting`,
      );
      // CPU while it cannot accept: a server that retries at once would use a whole core.
      const cpuStart = await cpuSeconds(server.pid);
      const wallStart = performance.now();
      await delay(3000);
      const share = (await cpuSeconds(server.pid) - cpuStart) /
        ((performance.now() - wallStart) / 1000);
      reportFigure(
        "condition 8 server CPU while out of descriptors",
        `${(share * 100).toFixed(1)} % of a core`,
      );
      assert.ok(share < 0.25, `the server used ${(share * 100).toFixed(0)} % of a core`);
      assert.ok(!server.exited, "the server is still running");
      const errors = server.stderr.split("\n").filter((line) => line.includes("accept_error"));
      assert.ok(errors.length < 50, `${errors.length} accept errors logged in 3 s`);
      // Members who were in keep chatting.
      const during = bystanders.sent;
      await bystanders.waitForMessages(during);

      for (const conn of extra.splice(0)) conn.close();
      // The queued connections are accepted and closed, and new ones are served.
      const started = Date.now();
      const newcomer = await waitForJoin(server.port, "newcomer", 15_000);
      reportFigure("condition 8 serving again after", `${Date.now() - started} ms`);
      await newcomer.close();
      await waitUntil(async () => (await openFdCount(server.pid)) <= baseFds, "descriptors back");
      // The leave is announced after the socket is closed, so it may still be on its way.
      await waitUntil(
        () => bystanders.events.some((e) => e.type === "leave" && e.name === "newcomer"),
        "the newcomer's leave at the bystanders",
      );
      const report = await bystanders.stop();
      assert.ok(report.inOrder, `bystanders lost or reordered: ${JSON.stringify(report)}`);
      assert.deepEqual(report.leaves, ["newcomer:closed"]);
    } finally {
      for (const conn of extra) conn.close();
      await bystanders[Symbol.asyncDispose]();
    }
  },
});

/** Joins as a JSON client, retrying while the server cannot take the connection yet. */
async function waitForJoin(port: number, name: string, timeoutMs: number): Promise<WireClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await joinJson(port, name)).client;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(200);
    }
  }
}

/** Python: connect N times, join (or not), start a frame, then close with a reset. */
const RESET_PEERS = `
import json, socket, struct, sys
port, count, prefix, join = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "join"
socks = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    if join:
        body = json.dumps({"type": "hello", "name": prefix + str(i), "protocol": 1}).encode()
        s.sendall(str(len(body)).encode().ljust(64) + body)
        data = b""
        while b'"welcome"' not in data:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("closed before welcome")
            data += chunk
    s.sendall(b"100".ljust(64) + b'{"type":"say"')
    socks.append(s)
for s in socks:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
print("reset", len(socks))
`;

Deno.test({
  name:
    "condition 16: disconnects mid-frame and by reset announce the leave once and release every descriptor",
  ignore: !canReadProc,
  async fn() {
    await using server = await ServeProcess.start(["--quiet"]);
    const watcher = (await joinJson(server.port, "watcher")).client;
    try {
      const baseFds = await openFdCount(server.pid);
      const names: string[] = [];
      // Mid-body, then FIN.
      for (let i = 0; i < 10; i++) {
        const client = (await joinJson(server.port, `body${i}`)).client;
        names.push(`body${i}`);
        await client.send(concat(rawHeader("100"), encoder.encode('{"type":"say","te')));
        await client.close();
      }
      // Mid-header, then FIN.
      for (let i = 0; i < 10; i++) {
        const client = (await joinJson(server.port, `head${i}`)).client;
        names.push(`head${i}`);
        await client.send(encoder.encode("12   "));
        await client.close();
      }
      // Mid-line, then FIN; and a plain client mid-frame.
      for (let i = 0; i < 5; i++) {
        const line = await joinLine(server.port, `line${i}`);
        await line.waitForLine("/help");
        await line.send(encoder.encode("half a li"));
        await line.close();
        const plain = await joinPlain(server.port, `plain${i}`);
        await plain.waitFor((body) => body.includes("/help"), "plain welcome");
        await plain.send(concat(rawHeader("50"), encoder.encode("half")));
        await plain.close();
        names.push(`line${i}`, `plain${i}`);
      }
      // Never joined: half a header, then FIN.
      for (let i = 0; i < 10; i++) {
        const conn = await rawConnect(server.port);
        await writeAll(conn, encoder.encode("4"));
        conn.close();
      }
      // Reset by the peer (SO_LINGER 0), joined and not.
      if (await hasPython()) {
        const joined = await runPython(RESET_PEERS, [String(server.port), "10", "rst", "join"]);
        assert.equal(joined.code, 0, joined.stderr);
        const unjoined = await runPython(RESET_PEERS, [String(server.port), "10", "x", "no"]);
        assert.equal(unjoined.code, 0, unjoined.stderr);
        for (let i = 0; i < 10; i++) names.push(`rst${i}`);
      } else {
        reportFigure("condition 16", "python3 is missing: the reset case was skipped");
      }
      // Every leave arrives once; a sentinel after a pause shows no late duplicate.
      await waitUntil(
        () =>
          watcher.received.filter((item) => parseEvent(item).type === "leave").length >=
            names.length,
        "every leave",
      );
      await delay(500);
      const sentinel = (await joinJson(server.port, "sentinel")).client;
      await sentinel.sendJson({ type: "say", text: "sentinel" });
      await watcher.waitForEvent((e) => e.type === "message" && e.text === "sentinel");
      await sentinel.close();
      await watcher.waitForEvent((e) => e.type === "leave" && e.name === "sentinel");
      const leaves = watcher.received.map(parseEvent).filter((e) => e.type === "leave")
        .map((e) => `${e.name}:${e.reason}`);
      assert.deepEqual(
        leaves.sort(),
        [...names, "sentinel"].map((name) => `${name}:closed`).sort(),
      );
      await waitUntil(
        async () => (await openFdCount(server.pid)) === baseFds,
        `the descriptor count to return to ${baseFds}`,
      );
    } finally {
      await watcher.close();
    }
  },
});

/** One join/leave cycle in one of four ways; returns how many name_taken retries it took. */
async function cycle(port: number, name: string, way: number): Promise<number> {
  let retries = 0;
  if (way === 2 || way === 3) {
    const client = way === 2 ? await joinLine(port, name) : await joinPlain(port, name);
    try {
      for (;;) {
        const item = await client.waitFor(
          (text) => text.includes("/help") || text.startsWith("! "),
          "welcome or refusal",
        );
        if (item.includes("/help")) break;
        assert.match(item, /^! name_taken: /);
        if (++retries > 100) throw new Error(`"${name}" stayed taken`);
        await delay(20);
        if (way === 2) await client.sendLine(name);
        else await client.sendFrame(name);
      }
      if (way === 2) await client.sendLine("/quit");
      else await client.sendFrame("!DISCONNECT FROM SERVER");
      await client.waitClosed();
    } finally {
      await client.close();
    }
    return retries;
  }
  const client = await WireClient.connect(port);
  try {
    for (;;) {
      await client.sendJson({ type: "hello", name, protocol: 1 });
      const event = await client.nextEvent();
      if (event.type === "welcome") break;
      assert.equal(event.code, "name_taken", JSON.stringify(event));
      if (++retries > 100) throw new Error(`"${name}" stayed taken`);
      await delay(20);
    }
    if (way === 0) {
      await client.sendJson({ type: "bye" });
      await client.waitClosed();
    }
  } finally {
    await client.close();
  }
  return retries;
}

Deno.test({
  name:
    "condition 18: 2,000 join/leave cycles grow neither memory nor descriptors, and names are reusable",
  ignore: !canReadProc,
  async fn() {
    // A small heap: V8 otherwise lets garbage pile up to a lazily raised limit, which looks
    // like growth but is not (a capped server levels off; a real leak still grows).
    await using server = await ServeProcess.start([], 30_000, {
      v8Flags: "--max-old-space-size=16,--max-semi-space-size=1",
    });
    const bystanders = await Bystanders.start(server.port);
    try {
      const baseFds = await openFdCount(server.pid);
      const workers = 10;
      let retries = 0;
      /** Runs `count` cycles over the workers, each worker reusing its own name. */
      const churn = (count: number) =>
        runPool(workers, workers, async (w) => {
          for (let i = 0; i < count / workers; i++) {
            retries += await cycle(server.port, `churn${w}`, (w + i) % 4);
          }
        });
      await churn(4000); // Warm-up: the runtime's own pools level off after a few thousand.
      await waitUntil(async () => (await openFdCount(server.pid)) === baseFds, "descriptors");
      const warmRss = await memoryKb(server.pid, "VmRSS");
      const started = Date.now();
      await churn(2000);
      const elapsed = Date.now() - started;
      await waitUntil(
        async () => (await openFdCount(server.pid)) === baseFds,
        `the descriptor count to return to ${baseFds}`,
      );
      await delay(200);
      const endRss = await memoryKb(server.pid, "VmRSS");
      const peak = await memoryKb(server.pid, "VmHWM");
      const active = [...server.stderr.matchAll(/ disconnect .*active=(\d+)/g)].at(-1)?.[1];
      reportFigure(
        "condition 18 churn",
        `2000 cycles (after 4000 to warm up) in ${elapsed} ms, ${retries} name_taken retries`,
      );
      reportFigure(
        "condition 18 server RSS",
        `${warmRss} kB after warm-up, ${endRss} kB after 2000 more cycles, peak ${peak} kB; ` +
          `descriptors ${baseFds} before and after`,
      );
      assert.equal(active, "2", "only the bystanders remain");
      // About 1 kB a cycle is the runtime's own (a bare Deno accept loop shows the same).
      assert.ok(endRss - warmRss < 6 * 1024, `RSS grew from ${warmRss} kB to ${endRss} kB`);
      const report = await bystanders.stop();
      assert.ok(report.inOrder, `bystanders lost or reordered: ${JSON.stringify(report)}`);
      assert.deepEqual(report.leaves.filter((l) => !l.startsWith("churn")), []);
      assert.equal(report.leaves.length, 6000, "one leave per cycle");
    } finally {
      await bystanders[Symbol.asyncDispose]();
    }
  },
});

Deno.test("condition 19: SIGTERM with 500 clients chatting sends every client shutdown and exits 0 within 3 s", async () => {
  await using server = await ServeProcess.start(["--quiet"]);
  const clients: WireClient[] = [];
  let chatting = true;
  try {
    await runPool(500, 25, async (i) => {
      clients.push((await joinJson(server.port, `crowd${i}`)).client);
    });
    // About 50 messages a second from the crowd, each client within its rate limit.
    const talk = clients.map(async (client, i) => {
      await delay((i * 20) % 10_000);
      while (chatting && !client.eof) {
        try {
          await client.sendJson({ type: "say", text: `hello from ${i}` });
        } catch {
          return;
        }
        await delay(10_000);
      }
    });
    await waitUntil(
      () => clients.every((c) => c.received.some((item) => item.includes('"message"'))),
      "everyone to see chat",
      20_000,
    );
    const killedAt = performance.now();
    const status = await server.stop("SIGTERM", 10_000);
    const exitMs = performance.now() - killedAt;
    chatting = false;
    await Promise.all(clients.map((c) => c.waitClosed(5000)));
    await Promise.all(talk);
    reportFigure("condition 19 exit after SIGTERM with 500 clients", `${exitMs.toFixed(0)} ms`);
    assert.equal(status.code, 0);
    assert.ok(exitMs < 3000, `exit took ${exitMs.toFixed(0)} ms`);
    const last = clients.map((c) => parseEvent(c.received.at(-1)!));
    const without = last.filter((e) => e.type !== "shutdown");
    assert.equal(without.length, 0, `${without.length} clients did not end with shutdown`);
  } finally {
    chatting = false;
    await closeAll(clients);
  }
});
