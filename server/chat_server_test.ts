import assert from "node:assert/strict";
import { encodeFrame } from "../protocol/frame64.ts";
import {
  ACCEPTS_PER_TURN,
  ChatServer,
  isLoopback,
  normaliseIp,
  startServer,
} from "./chat_server.ts";
import { DEFAULT_SERVE_CONFIG } from "./config.ts";
import { createLogger } from "./log.ts";

Deno.test("normaliseIp removes the IPv4-mapped prefix and nothing else", () => {
  assert.equal(normaliseIp("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(normaliseIp("::FFFF:192.0.2.7"), "192.0.2.7");
  assert.equal(normaliseIp("192.0.2.7"), "192.0.2.7");
  assert.equal(normaliseIp("::1"), "::1");
  assert.equal(normaliseIp("fd00::2"), "fd00::2");
  assert.equal(normaliseIp("::ffff:c000:207"), "::ffff:c000:207");
});

Deno.test("isLoopback accepts 127.0.0.0/8 and ::1 only", () => {
  for (const ip of ["127.0.0.1", "127.1.2.3", "::1"]) assert.equal(isLoopback(ip), true, ip);
  for (const ip of ["192.0.2.2", "10.0.0.1", "fd00::2", "::", "0.0.0.0", "1.127.0.0"]) {
    assert.equal(isLoopback(ip), false, ip);
  }
  assert.equal(isLoopback(normaliseIp("::ffff:127.0.0.1")), true);
});

/**
 * A listener whose accept() follows a script: "fail" rejects as EMFILE does, a connection is
 * handed over, and once the script is done accept() waits until close().
 */
class ScriptedListener {
  readonly addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  readonly acceptedAt: number[] = [];
  #script: ("fail" | Deno.TcpConn)[];
  #parked: ((error: Error) => void) | null = null;
  #closed = false;

  constructor(script: ("fail" | Deno.TcpConn)[]) {
    this.#script = script;
  }
  accept(): Promise<Deno.TcpConn> {
    this.acceptedAt.push(Date.now());
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Listener closed"));
    const next = this.#script.shift();
    if (next === "fail") return Promise.reject(new Error("Too many open files (os error 24)"));
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((_, reject) => this.#parked = reject);
  }
  close(): void {
    this.#closed = true;
    this.#parked?.(new Deno.errors.BadResource("Listener closed"));
  }
  get done(): boolean {
    return this.#script.length === 0;
  }
}

/** A real connected pair on loopback: [the server's end, the client's end]. */
async function connectedPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [server, client] = await Promise.all([
    listener.accept(),
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  ]);
  return [server, client];
}

Deno.test("ChatServer's accept loop backs off on errors, resets after a success, and serves on", async () => {
  const [serverEnd, client] = await connectedPair();
  const listener = new ScriptedListener(["fail", "fail", "fail", serverEnd, "fail", "fail"]);
  const lines: string[] = [];
  const log = createLogger({
    format: "json",
    quiet: true,
    logMessages: false,
    write: (line) => lines.push(line),
  });
  const server = new ChatServer(
    { ...DEFAULT_SERVE_CONFIG, host: "127.0.0.1", port: 0 },
    listener as unknown as Deno.TcpListener,
    log,
  );
  try {
    for (let i = 0; i < 200 && !listener.done; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(listener.done, "the loop kept accepting after errors");
    const errors = lines.map((line) => JSON.parse(line)).filter((r) => r.event === "accept_error");
    assert.deepEqual(errors.map((r) => r.retry_ms), [10, 20, 40, 10, 20]);
    assert.equal(errors[0].level, "error", "logged even with --quiet");
    assert.match(errors[0].error, /Too many open files/);
    const gaps = listener.acceptedAt.slice(1).map((t, i) => t - listener.acceptedAt[i]!);
    assert.ok(gaps[2]! >= 35, `waited about 40 ms after the third failure: ${gaps}`);

    // The connection accepted between the failures is a working session.
    const hello = encodeFrame(new TextEncoder().encode('{"type":"hello","name":"a","protocol":1}'));
    await client.write(hello);
    const buffer = new Uint8Array(4096);
    const count = await client.read(buffer);
    assert.ok(count !== null && count > 64);
    assert.match(new TextDecoder().decode(buffer.subarray(64, count)), /"type":"welcome"/);
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
    client.close();
  }
});

Deno.test("ChatServer accepts a backlog of connections a few per turn of the event loop", async () => {
  // Connections already waiting, as in a flood: every accept() completes at once.
  const pairs = await Promise.all(Array.from({ length: 2 * ACCEPTS_PER_TURN + 8 }, connectedPair));
  const listener = new ScriptedListener(pairs.map(([serverEnd]) => serverEnd));
  const server = new ChatServer(
    { ...DEFAULT_SERVE_CONFIG, host: "127.0.0.1", port: 0 },
    listener as unknown as Deno.TcpListener,
    createLogger({ format: "json", quiet: true, logMessages: false, write: () => {} }),
  );
  try {
    // Microtasks only: whatever the loop does now happens within this one turn.
    for (let i = 0; i < 1000; i++) await Promise.resolve();
    assert.equal(listener.acceptedAt.length, ACCEPTS_PER_TURN, "then the turn is let go");
    for (let i = 0; i < 200 && !listener.done; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(listener.done, "and the rest are taken on the next turns");
    assert.equal(server.connections, pairs.length);
  } finally {
    await server.close();
    for (const [, client] of pairs) client.close();
  }
});

Deno.test("startServer reports a port in use as AddrInUse", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await assert.rejects(
    () => startServer({ ...DEFAULT_SERVE_CONFIG, host: "127.0.0.1", port: taken.addr.port }),
    Deno.errors.AddrInUse,
  );
});

Deno.test("ChatServer.close is idempotent and tells connected clients shutdown", async () => {
  const server = await startServer({ ...DEFAULT_SERVE_CONFIG, host: "127.0.0.1", port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(
      encodeFrame(new TextEncoder().encode('{"type":"hello","name":"a","protocol":1}')),
    );
    const buffer = new Uint8Array(8192);
    let text = "";
    while (!text.includes('"welcome"')) {
      const count = await conn.read(buffer);
      assert.ok(count !== null);
      text += new TextDecoder().decode(buffer.subarray(0, count));
    }
    const first = server.close("Bye for now");
    assert.equal(server.close(), first, "the same promise");
    await first;
    await server.finished;
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, count));
    }
    assert.match(text, /\{"type":"shutdown","message":"Bye for now"\}/);
    assert.equal(server.connections, 0);
  } finally {
    conn.close();
  }
});
