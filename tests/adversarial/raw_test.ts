/**
 * Adversarial suite, raw clients (issue 12): a raw client that never pauses, one that sends a
 * 10 MB burst, one that pauses inside a UTF-8 character, raw slowloris connections, and bytes
 * that could start a frame64 header, which are never taken as raw.
 */

import assert from "node:assert/strict";
import { Bystanders, hasPython, memoryKb, reportFigure, runPool } from "../support/adversary.ts";
import {
  closeAll,
  delay,
  hasProc,
  joinJson,
  ServeProcess,
  startTestServer,
} from "../support/net.ts";
import { RawSocket } from "../support/raw_socket.ts";

const encoder = new TextEncoder();

/** Joins a raw client under `name` and waits for its welcome. */
async function joinRaw(port: number, name: string): Promise<RawSocket> {
  const socket = await RawSocket.connect(port);
  await socket.write(name);
  await socket.waitForText(`SERVER~welcome, ${name}`);
  return socket;
}

Deno.test("raw: a client that never pauses is closed by the frame deadline, others unharmed", async () => {
  await using server = await startTestServer({
    quiet: true,
    frameTimeout: 1,
    handshakeTimeout: 60,
  });
  const bystanders = await Bystanders.start(server.port);
  const watcher = (await joinJson(server.port, "watcher")).client;
  const trickler = await joinRaw(server.port, "trickler");
  const early = await RawSocket.connect(server.port);
  try {
    await watcher.waitForEvent((e) => e.type === "join" && e.name === "trickler");
    // A byte every 50 ms never leaves a 300 ms pause: the burst never ends. One joined, one
    // still in its first burst (its name). Bounded: at most 200 bytes each.
    const started = Date.now();
    let sent = 0;
    while (sent < 200 && !(trickler.closed && early.closed)) {
      await trickler.write("x");
      await early.write("y");
      sent++;
      await delay(50);
    }
    await trickler.waitClosed();
    await early.waitClosed();
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `closed after ${elapsed} ms`);
    assert.match(trickler.text, /SERVER~! timeout: [^\n]+$/);
    assert.match(early.text, /! timeout: /);
    const leave = await watcher.waitForEvent("leave");
    assert.deepEqual([leave.name, leave.reason], ["trickler", "timeout"]);
    assert.ok(
      !watcher.received.some((item) => item.includes('"from":"trickler"')),
      "nothing of the endless burst is relayed",
    );
    const report = await bystanders.stop();
    assert.ok(report.inOrder, `bystanders lost or reordered: ${JSON.stringify(report)}`);
  } finally {
    await closeAll([watcher]);
    await trickler.close();
    await early.close();
    await bystanders[Symbol.asyncDispose]();
  }
});

Deno.test({
  name: "raw: a 10 MB burst is refused at --max-message-bytes, never buffered, others unharmed",
  ignore: !hasProc(),
  async fn() {
    await using server = await ServeProcess.start(["--quiet"]);
    const bystanders = await Bystanders.start(server.port);
    const flooder = await joinRaw(server.port, "flooder");
    try {
      // Peak RSS is measured from here: writing 5 to clear_refs resets VmHWM (Linux 4.0+).
      await Deno.writeTextFile(`/proc/${server.pid}/clear_refs`, "5");
      const before = await memoryKb(server.pid, "VmRSS");
      const burst = new Uint8Array(10 * 1024 * 1024).fill(0x61);
      const written = flooder.write(burst);
      await flooder.waitForText("SERVER~! too_large: Message is longer than the limit of 4096");
      await flooder.waitClosed();
      await written;
      const after = await memoryKb(server.pid, "VmHWM");
      const growthKb = Math.max(0, after - before);
      reportFigure("raw 10 MB burst: server peak RSS growth", `${growthKb} kB`);
      // 10 MB held anywhere would show as at least 10240 kB.
      assert.ok(growthKb < 8 * 1024, `peak RSS grew by ${growthKb} kB`);
      const report = await bystanders.stop();
      assert.ok(report.inOrder, `bystanders lost or reordered: ${JSON.stringify(report)}`);
      assert.ok(report.leaves.includes("flooder:error"), JSON.stringify(report.leaves));
    } finally {
      await flooder.close();
      await bystanders[Symbol.asyncDispose]();
    }
  },
});

Deno.test("raw: a pause inside a UTF-8 character does not split the message or refuse it", async () => {
  await using server = await startTestServer({ quiet: true, rawPause: 0.1, frameTimeout: 1 });
  const watcher = (await joinJson(server.port, "watcher")).client;
  const cafe = await joinRaw(server.port, "cafe");
  const stuck = await joinRaw(server.port, "stuck");
  try {
    const text = encoder.encode("café ✓ ok");
    const cut1 = 4; // inside é
    const cut2 = 7; // inside ✓
    await cafe.write(text.subarray(0, cut1));
    // Longer than the pause, each time: the server has seen the pause but waits for the rest.
    await delay(300);
    await cafe.write(text.subarray(cut1, cut2));
    await delay(300);
    await cafe.write(text.subarray(cut2));
    const said = await watcher.waitForEvent((e) => e.type === "message" && e.from === "cafe");
    assert.equal(said.text, "café ✓ ok");
    // A character that is never finished holds the burst open only until the frame deadline.
    await stuck.write(new Uint8Array([0x61, 0xe2, 0x9c]));
    await stuck.waitClosed(5000);
    assert.match(stuck.text, /SERVER~! timeout: /);
    assert.ok(!cafe.text.includes("bad_utf8"), cafe.text);
  } finally {
    await closeAll([watcher]);
    await cafe.close();
    await stuck.close();
  }
});

Deno.test("raw: bytes that could start a frame64 header are never raw, and the deadlines hold", async () => {
  await using server = await startTestServer({
    quiet: true,
    rawPause: 0.05,
    handshakeTimeout: 1,
    greetAfter: 0,
  });
  const watcher = (await joinJson(server.port, "watcher")).client;
  const sockets: RawSocket[] = [];
  try {
    const started = Date.now();
    // Half headers ("12", "4   "), 40 of each, then silence far longer than the raw pause.
    await runPool(80, 20, async (i) => {
      const socket = await RawSocket.connect(server.port);
      sockets.push(socket);
      await socket.write(i % 2 === 0 ? "12" : "4   ");
    });
    for (const socket of sockets) await socket.waitClosed(8000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 8000, `closed after ${elapsed} ms`);
    for (const socket of sockets) {
      assert.equal(socket.text, "", `a half header is closed without a word: ${socket.text}`);
    }
    assert.ok(!watcher.received.some((item) => item.includes('"join"')), "nobody joined");
  } finally {
    await closeAll([watcher]);
    for (const socket of sockets) await socket.close();
  }
});

Deno.test({
  name: "raw: the tutorials' way of sending, from Python, many at once, lose nothing",
  ignore: !(await hasPython()),
  async fn() {
    await using server = await startTestServer({ quiet: true, rateBurst: 50 });
    const watcher = (await joinJson(server.port, "watcher")).client;
    try {
      // Ten raw clients, each sends its name and three messages with pauses, as people do.
      const script = `
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", port))
    s.sendall(f"py{i}".encode())
    socks.append(s)
time.sleep(0.6)
for n in range(3):
    for i, s in enumerate(socks):
        s.sendall(f"msg {n} from py{i}".encode())
    time.sleep(0.6)
for s in socks:
    s.sendall(b"!DISCONNECT FROM SERVER")
for s in socks:
    while s.recv(2048):
        pass
print("DONE")
`;
      const output = await new Deno.Command("python3", {
        args: ["-c", script, String(server.port)],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      const messages = new Set<string>();
      let leaves = 0;
      while (leaves < 10) {
        const event = await watcher.nextEvent();
        if (event.type === "message") messages.add(String(event.text));
        if (event.type === "leave") {
          assert.equal(event.reason, "quit");
          leaves++;
        }
      }
      assert.equal(messages.size, 30, [...messages].join(" | "));
    } finally {
      await closeAll([watcher]);
    }
  },
});
