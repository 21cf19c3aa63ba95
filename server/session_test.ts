import assert from "node:assert/strict";
import { inMemoryTrust } from "../tests/support/trust.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { encodeFrame } from "../protocol/frame64.ts";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import { createLogger } from "./log.ts";
import { Chat } from "../core/chat.ts";
import { InProcessBroker } from "../core/in_process_broker.ts";
import { NodeDelivery } from "./delivery.ts";
import { GuestNames } from "./guest_names.ts";
import { SlabPool } from "./slab_pool.ts";
import {
  LARGE_READ_BYTES,
  MEDIUM_READ_BYTES,
  nextReadBuffer,
  Session,
  type SessionHost,
  type SessionLimits,
  type SessionSocket,
  SMALL_READ_BYTES,
} from "./session.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const LIMITS: SessionLimits = {
  maxMessageBytes: 4096,
  handshakeTimeoutMs: 1_000,
  frameTimeoutMs: 2_000,
  pingIntervalMs: 3_000,
  idleTimeoutMs: 7_000,
  rateBurst: 10,
  ratePerSecond: 5,
  sendQueueBytes: 1 << 20,
  writeTimeoutMs: 5_000,
  rawPauseMs: 300,
  greetAfterMs: 0,
};

/** An in-memory socket: the test pushes what the peer sends and reads what the session wrote. */
class FakeSocket implements SessionSocket {
  readonly written: Uint8Array[] = [];
  closed = false;
  /** When true, writes never complete (a peer that stopped reading). */
  stalled = false;
  #chunks: (Uint8Array | null)[] = [];
  #waiting: (() => void) | null = null;
  #stalledWrites: ((error: Error) => void)[] = [];

  push(bytes: Uint8Array | string | null): void {
    this.#chunks.push(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
    this.#waiting?.();
  }
  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.closed) return null;
      await new Promise<void>((resolve) => this.#waiting = resolve);
      this.#waiting = null;
    }
    const chunk = this.#chunks[0]!;
    if (chunk === null) return null;
    const count = Math.min(chunk.length, buffer.length);
    buffer.set(chunk.subarray(0, count));
    if (count === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(count);
    return count;
  }
  write(bytes: Uint8Array): Promise<number> {
    if (this.stalled) {
      return new Promise((_, reject) => this.#stalledWrites.push(reject));
    }
    this.written.push(bytes.slice());
    return Promise.resolve(bytes.length);
  }
  close(): void {
    this.closed = true;
    this.#waiting?.();
    // Like a real socket, closing fails the writes under way.
    for (const reject of this.#stalledWrites.splice(0)) reject(new Deno.errors.BadResource());
  }
  /** Everything written, as frame64 bodies. */
  bodies(): string[] {
    const bodies: string[] = [];
    const parser = new Frame64Parser((b) => bodies.push(decoder.decode(b)), {
      maxBodyBytes: 1 << 20,
    });
    for (const bytes of this.written) parser.push(bytes);
    return bodies;
  }
  /** Everything written, as text. */
  text(): string {
    return this.written.map((b) => decoder.decode(b)).join("");
  }
}

/** A host with a real room and a log in memory. */
function makeHost(limits: Partial<SessionLimits> = {}) {
  const logLines: string[] = [];
  const closed: Session[] = [];
  const delivery = new NodeDelivery({ schedule: (flush) => queueMicrotask(flush) });
  const host: SessionHost = {
    chat: new Chat<Session>({
      broker: new InProcessBroker(),
      historySize: 10,
      maxRooms: 10,
      serverName: "unit",
      limits: {
        maxMessageBytes: 4096,
        rateBurst: 10,
        ratePerSecond: 5,
        pingIntervalSeconds: 3,
        idleTimeoutSeconds: 7,
      },
    }, delivery),
    delivery,
    limits: { ...LIMITS, ...limits },
    log: createLogger({
      format: "text",
      quiet: false,
      logMessages: false,
      write: (line) => logLines.push(line),
    }),
    trust: inMemoryTrust(),
    guestNames: new GuestNames(),
    sessionClosed: (session) => closed.push(session),
    sessions: () => [],
  };
  return { host, logLines, closed };
}

/** Starts a session on a fake socket; `finish()` ends it and waits for its read loop. */
function open(host: SessionHost, now = Date.now()) {
  const socket = new FakeSocket();
  const session = new Session(socket, "192.0.2.9", 4000, host, now);
  session.run();
  const running = session.ended();
  const finish = async () => {
    session.close("closed");
    socket.close();
    await running;
    await settle();
  };
  return { socket, session, running, finish, started: now };
}

/** Lets pending reads, microtasks and zero-delay timers run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

const json = (event: Record<string, unknown>) => encodeFrame(encoder.encode(JSON.stringify(event)));

Deno.test("Session detects frame64 from a header split into single bytes and joins", async () => {
  const { host } = makeHost();
  const { socket, session, finish } = open(host);
  try {
    const bytes = json({ type: "hello", name: "alice", protocol: 1 });
    for (const byte of bytes) socket.push(new Uint8Array([byte]));
    await settle();
    assert.equal(session.framing, "frame64");
    assert.equal(session.style, "json");
    assert.equal(session.name, "alice");
    assert.equal(JSON.parse(socket.bodies()[0]!).type, "welcome");
  } finally {
    await finish();
  }
});

Deno.test("Session lets go of an idle member's parser and send queue at the sweep, losing nothing", async () => {
  const { host } = makeHost();
  const { socket, session, finish } = open(host);
  try {
    socket.push(json({ type: "hello", name: "alice", protocol: 1 }));
    await settle();
    assert.equal(session.name, "alice");
    session.checkDeadlines(Date.now());
    // Let go: the style and framing stay what they were.
    assert.equal(session.style, "json");
    assert.equal(session.framing, "frame64");
    // A frame split across a sweep, then a ping: both are read by the parser made again.
    const who = json({ type: "who" });
    socket.push(who.subarray(0, 10));
    await settle();
    session.checkDeadlines(Date.now());
    socket.push(who.subarray(10));
    socket.push(json({ type: "ping", id: 7 }));
    await settle();
    session.checkDeadlines(Date.now());
    socket.push(json({ type: "say", text: "hi" }));
    await settle();
    const types = socket.bodies().map((body) => JSON.parse(body));
    assert.deepEqual(types.slice(1).map((event) => event.type), ["who", "pong", "message"]);
    assert.equal(types[2].id, 7);
  } finally {
    await finish();
  }
});

Deno.test("Session detects line mode from the first bytes and takes the name", async () => {
  const { host } = makeHost();
  const { socket, session, finish } = open(host);
  try {
    socket.push("bo");
    await settle();
    assert.equal(session.framing, "line");
    socket.push("b\r\n");
    await settle();
    assert.equal(session.style, "line");
    assert.equal(session.name, "bob");
    assert.match(socket.text(), /^\* welcome, bob — 1 online: bob\n/);
  } finally {
    await finish();
  }
});

Deno.test("Session.checkDeadlines closes a silent connection at the handshake deadline", async () => {
  const { host, closed } = makeHost();
  const { socket, session, running, started } = open(host);
  session.checkDeadlines(started + 999);
  assert.equal(session.closed, false);
  session.checkDeadlines(started + 1_001);
  assert.equal(session.closed, true);
  assert.equal(session.closeReason, "timeout");
  await running;
  await settle();
  assert.equal(socket.closed, true);
  assert.deepEqual(socket.written, [], "nothing is sent before the framing is known");
  assert.deepEqual(closed, [session]);
});

Deno.test("Session.checkDeadlines tells a client with known framing that it timed out", async () => {
  const { host } = makeHost();
  const { socket, session, running, started } = open(host);
  socket.push(json({ type: "ping", id: 1 }));
  await settle();
  session.checkDeadlines(started + 1_001);
  await running;
  await settle();
  const bodies = socket.bodies().map((b) => JSON.parse(b));
  assert.deepEqual(bodies[0], { type: "pong", id: 1 });
  assert.equal(bodies[1].code, "timeout");
  assert.equal(session.closeReason, "timeout");
});

Deno.test("Session.checkDeadlines bounds an unfinished frame once joined", async () => {
  const { host } = makeHost();
  const { socket, session, running } = open(host);
  socket.push(json({ type: "hello", name: "alice", protocol: 1 }));
  await settle();
  const frame = json({ type: "say", text: "half" });
  socket.push(frame.subarray(0, 70));
  await settle();
  const now = Date.now();
  session.checkDeadlines(now + 1_900);
  assert.equal(session.closed, false, "joined: the handshake deadline no longer applies");
  session.checkDeadlines(now + 2_100);
  assert.equal(session.closed, true);
  assert.equal(session.closeReason, "timeout");
  await running;
  await settle();
  assert.equal(JSON.parse(socket.bodies().at(-1)!).code, "timeout");
});

Deno.test("Session pings a silent JSON member once per silence, then closes it when idle", async () => {
  const { host } = makeHost();
  const { socket, session, running } = open(host);
  socket.push(json({ type: "hello", name: "alice", protocol: 1 }));
  await settle();
  const heard = Date.now();
  session.checkDeadlines(heard + 2_900);
  session.checkDeadlines(heard + 3_100);
  session.checkDeadlines(heard + 4_000);
  await settle();
  const pings = socket.bodies().map((b) => JSON.parse(b)).filter((e) => e.type === "ping");
  assert.equal(pings.length, 1, "one ping per silence");
  assert.equal(typeof pings[0].id, "string");
  session.checkDeadlines(heard + 6_900);
  assert.equal(session.closed, false);
  session.checkDeadlines(heard + 7_100);
  assert.equal(session.closed, true);
  assert.equal(session.closeReason, "timeout");
  await running;
});

Deno.test("Session pings a member again in a new silence, once it was heard", async () => {
  const { host } = makeHost();
  const { socket, session, finish } = open(host);
  try {
    socket.push(json({ type: "hello", name: "alice", protocol: 1 }));
    await settle();
    const pings = () =>
      socket.bodies().map((b) => JSON.parse(b)).filter((e) => e.type === "ping").length;
    session.checkDeadlines(Date.now() + 3_100);
    session.checkDeadlines(Date.now() + 3_200);
    await settle();
    assert.equal(pings(), 1);
    socket.push(json({ type: "pong", id: "k1" }));
    await settle();
    session.checkDeadlines(Date.now() + 1_000);
    await settle();
    assert.equal(pings(), 1, "not while the member was just heard");
    session.checkDeadlines(Date.now() + 3_100);
    await settle();
    assert.equal(pings(), 2, "a new silence, a new ping");
  } finally {
    await finish();
  }
});

Deno.test("Session never pings a text member nor closes it for silence", async () => {
  const { host } = makeHost();
  const { socket, session, finish } = open(host);
  try {
    socket.push("bob\n");
    await settle();
    const before = socket.text();
    session.checkDeadlines(Date.now() + 1_000_000);
    await settle();
    assert.equal(session.closed, false);
    assert.equal(socket.text(), before);
  } finally {
    await finish();
  }
});

Deno.test("Session closes as slow when a write makes no progress for the write timeout", async () => {
  const { host, closed } = makeHost();
  const { socket, session, running } = open(host);
  socket.push(json({ type: "hello", name: "alice", protocol: 1 }));
  await settle();
  socket.stalled = true;
  socket.push(json({ type: "say", text: "stuck" }));
  await settle();
  const now = Date.now();
  session.checkDeadlines(now + 4_900);
  assert.equal(session.closed, false);
  session.checkDeadlines(now + 5_100);
  assert.equal(session.closed, true);
  assert.equal(session.closeReason, "slow");
  assert.deepEqual(closed, [], "the stalled write gets its chance to finish first");
  socket.close();
  await running;
  await settle();
  assert.deepEqual(closed, [session]);
});

Deno.test("Session.refuse answers server_full in the client's framing, then closes", async () => {
  for (
    const [first, check] of [
      [json({ type: "hello", name: "alice", protocol: 1 }), (s: FakeSocket) => {
        assert.equal(JSON.parse(s.bodies()[0]!).code, "server_full");
      }],
      ["alice\n", (s: FakeSocket) => assert.match(s.text(), /^! server_full: Full$/m)],
    ] as const
  ) {
    const { host } = makeHost();
    const { socket, session, running } = open(host);
    session.refuse(new ProtocolError("server_full", "Full"));
    socket.push(first);
    await running;
    await settle();
    check(socket);
    assert.equal(session.name, undefined, "never joined");
    assert.equal(host.chat.size, 0);
    assert.equal(socket.closed, true);
  }
});

Deno.test("Session.close is idempotent: one leave, one sessionClosed", async () => {
  const { host, closed, logLines } = makeHost();
  const { socket, session, running } = open(host);
  socket.push(json({ type: "hello", name: "alice", protocol: 1 }));
  await settle();
  session.close("quit");
  session.close("error");
  session.quit();
  await running;
  await settle();
  assert.equal(session.closeReason, "quit");
  assert.deepEqual(closed, [session]);
  assert.equal(logLines.filter((l) => / leave /.test(l)).length, 1);
  assert.equal(host.chat.size, 0);
});

Deno.test("Session drops the connection when the peer goes away, as closed", async () => {
  const { host, closed } = makeHost();
  const { socket, session, running } = open(host);
  socket.push("carol\n");
  await settle();
  socket.push(null);
  await running;
  await settle();
  assert.equal(session.closeReason, "closed");
  assert.deepEqual(closed, [session]);
});

/** A socket that can half-close, as a Deno.TcpConn can. */
class HalfClosingSocket extends FakeSocket {
  writeClosedAt = 0;
  closeWrite(): Promise<void> {
    this.writeClosedAt = Date.now();
    return Promise.resolve();
  }
}

Deno.test("Session sends FIN first and keeps reading until the peer closes", async () => {
  const { host, closed } = makeHost();
  const socket = new HalfClosingSocket();
  const session = new Session(socket, "192.0.2.9", 4000, host, Date.now());
  session.run();
  const running = session.ended();
  socket.push(json({ type: "hello", name: "alice", protocol: 1 }));
  await settle();
  session.close("quit");
  await settle();
  assert.ok(socket.writeClosedAt > 0, "FIN after the last frame");
  assert.equal(socket.closed, false, "not closed while the peer may still be sending");
  // The peer keeps sending for a while; its input is read and dropped.
  for (let i = 0; i < 5; i++) {
    socket.push(json({ type: "say", text: `late ${i}` }));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(socket.closed, false);
  assert.equal(host.chat.size, 0);
  socket.push(null);
  await running;
  await settle();
  assert.equal(socket.closed, true);
  assert.deepEqual(closed, [session]);
  const said = socket.bodies().map((b) => JSON.parse(b)).filter((e) => e.type === "message");
  assert.deepEqual(said, [], "nothing sent after closing was relayed");
});

Deno.test("Session closes a quiet peer shortly after FIN without waiting for its EOF", async () => {
  const { host, closed } = makeHost();
  const socket = new HalfClosingSocket();
  const session = new Session(socket, "192.0.2.9", 4000, host, Date.now());
  session.run();
  const running = session.ended();
  socket.push("bob\n");
  await settle();
  session.close("quit");
  const started = Date.now();
  for (let i = 0; i < 200 && closed.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const took = Date.now() - started;
  assert.deepEqual(closed, [session]);
  assert.ok(took < 1500, `closed ${took} ms after FIN`);
  assert.equal(socket.closed, true);
  await running;
});

Deno.test("nextReadBuffer grows a filled buffer a size at a time and shrinks after a small read", () => {
  const pool = new SlabPool(SMALL_READ_BYTES, 2);
  let buffer = pool.take();
  const sizes: number[] = [];
  for (const count of [40, 128, 4096, 2000, 4096, 65536, 30000, 128, 100, 129]) {
    buffer = nextReadBuffer(buffer, Math.min(count, buffer.length), pool);
    sizes.push(buffer.length);
  }
  assert.deepEqual(sizes, [
    SMALL_READ_BYTES, // 40 bytes: stays small
    MEDIUM_READ_BYTES, // filled
    LARGE_READ_BYTES, // filled
    LARGE_READ_BYTES, // 2000 bytes: a busy reader keeps its buffer
    LARGE_READ_BYTES,
    LARGE_READ_BYTES, // filled, but there is no larger size
    LARGE_READ_BYTES,
    SMALL_READ_BYTES, // 128 bytes would have fitted in the small one
    SMALL_READ_BYTES,
    MEDIUM_READ_BYTES, // 129 asked, 128 read: filled
  ]);
  const again = [pool.take(), pool.take()];
  assert.notEqual(again[0]!.byteOffset, again[1]!.byteOffset);
  assert.equal(pool.slabCount, 1, "both slots of the first slab were free again");
});
