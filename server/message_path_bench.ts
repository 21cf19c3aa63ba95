/**
 * The JavaScript side of the benchmark's scenario (a): 100 JSON clients in one room, 10 of them
 * sending 64-byte texts, each message fanned out to all 100. Real sessions on sockets whose reads
 * are fed `say` frames (the load generator's, from `bench/message.ts`) and whose writes only
 * count bytes: a frame goes through the connection's read callback, the inbound parser, the
 * session, the chat core, the in-process broker, the room's fan-out and each member's send
 * queue, as in `chat serve`. Ticks run when the bench says (the clocks that pace them are fixed,
 * so no pause is ever taken); no kernel, no write call.
 *
 * One round is one read per sender holding {@linkcode FRAMES_PER_READ} frames (the load keeps 8
 * in flight per sender), then the tick that hands them out and the writes' completions; one
 * iteration is {@linkcode ROUNDS} rounds. Divide the time per iteration by
 * {@linkcode MESSAGES_PER_ITERATION} for a message's cost.
 *
 * ```sh
 * deno bench --allow-all server/message_path_bench.ts
 * ```
 *
 * `iteration` is exported for a profile: a script that replaces `Deno.bench` with a no-op,
 * imports this file and calls it in a loop under `deno run --cpu-prof`.
 */
import { Chat } from "../core/chat.ts";
import { InProcessBroker } from "../core/in_process_broker.ts";
import { encodeFrame } from "../protocol/frame64.ts";
import { SAY_FRAME_BYTES, writeSayFrame } from "../bench/message.ts";
import { NodeDelivery } from "./delivery.ts";
import { GuestNames } from "./guest_names.ts";
import { createLogger } from "./log.ts";
import { Session, type SessionHost, type SessionSocket } from "./session.ts";
import { inMemoryTrust } from "../tests/support/trust.ts";

const MEMBERS = 100;
const SENDERS = 10;
/** Frames in each sender's read: a little under the load's 8 in flight. */
const FRAMES_PER_READ = 4;
const ROUNDS = 10;
const MESSAGES_PER_ITERATION = ROUNDS * SENDERS * FRAMES_PER_READ;

/** A socket whose reads the bench feeds and whose writes complete at once, counting bytes. */
class BenchSocket implements SessionSocket {
  written = 0;
  /** Bytes fed that no read has taken yet. */
  #unread: Uint8Array | null = null;
  #waiting: { buffer: Uint8Array; resolve: (count: number | null) => void } | null = null;

  /** Hands bytes to the reads, as much as the read buffer takes at a time (as a kernel does). */
  feed(bytes: Uint8Array): void {
    if (this.#unread !== null) throw new Error("Fed before the last bytes were read");
    this.#unread = bytes;
    const waiting = this.#waiting;
    if (waiting !== null) {
      this.#waiting = null;
      waiting.resolve(this.#take(waiting.buffer));
    }
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#unread !== null) return Promise.resolve(this.#take(buffer));
    return new Promise((resolve) => this.#waiting = { buffer, resolve });
  }

  #take(buffer: Uint8Array): number {
    const unread = this.#unread!;
    const count = Math.min(unread.length, buffer.length);
    buffer.set(unread.subarray(0, count));
    this.#unread = count === unread.length ? null : unread.subarray(count);
    return count;
  }

  write(bytes: Uint8Array): Promise<number> {
    this.written += bytes.length;
    return Promise.resolve(bytes.length);
  }

  close(): void {
    this.#waiting?.resolve(null);
    this.#waiting = null;
  }
}

/** Lets the reads, writes and promise reactions that are due run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A room of {@linkcode MEMBERS} joined JSON clients on a host as `chat serve --quiet` makes it. */
async function room() {
  const ticks: (() => void)[] = [];
  const delivery = new NodeDelivery({
    schedule: (tick) => ticks.push(tick),
    cpuNow: () => 0,
    monotonicNow: () => 0,
  });
  const host: SessionHost = {
    chat: new Chat<Session>({
      broker: InProcessBroker.create({ keepMessages: 50 }),
      historySize: 50,
      maxRooms: 1000,
      serverName: "bench",
      limits: {
        maxMessageBytes: 4096,
        rateBurst: 10,
        ratePerSecond: 0,
        pingIntervalSeconds: 30,
        idleTimeoutSeconds: 75,
      },
    }, delivery),
    delivery,
    // The benchmark's flags: flood control off, 8 MiB send queues.
    limits: {
      maxMessageBytes: 4096,
      handshakeTimeoutMs: 10_000,
      frameTimeoutMs: 10_000,
      pingIntervalMs: 30_000,
      idleTimeoutMs: 75_000,
      rateBurst: 10,
      ratePerSecond: 0,
      sendQueueBytes: 8 << 20,
      writeTimeoutMs: 30_000,
      rawPauseMs: 300,
      greetAfterMs: 0,
    },
    log: createLogger({ format: "text", quiet: true, logMessages: false, write: () => {} }),
    trust: inMemoryTrust(),
    guestNames: new GuestNames(),
    sessionClosed: () => {},
    sessions: () => [],
  };
  const sockets: BenchSocket[] = [];
  const sessions: Session[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < MEMBERS; i++) {
    const socket = new BenchSocket();
    const session = new Session(socket, "127.0.0.1", 10_000 + i, host, Date.now());
    session.run();
    socket.feed(encodeFrame(encoder.encode(`{"type":"hello","name":"user${i}","protocol":1}`)));
    sockets.push(socket);
    sessions.push(session);
  }
  await nextTurn();
  while (ticks.length > 0) ticks.shift()!();
  await nextTurn();
  for (const session of sessions) {
    if (session.name === undefined) throw new Error("A member did not join");
  }
  return { ticks, sockets, sessions };
}

const { ticks, sockets, sessions } = await room();
/** One read per sender: its next {@linkcode FRAMES_PER_READ} frames. */
const reads = Array.from(
  { length: SENDERS },
  () => new Uint8Array(FRAMES_PER_READ * SAY_FRAME_BYTES),
);
const stamp = { sender: 0, seq: 0, sentUs: 0 };
let seq = 0;

/** One iteration: {@linkcode ROUNDS} rounds of reads, a tick, and the writes' completions. */
export async function iteration(): Promise<number> {
  let before = 0;
  for (const socket of sockets) before += socket.written;
  for (let round = 0; round < ROUNDS; round++) {
    for (let sender = 0; sender < SENDERS; sender++) {
      const read = reads[sender]!;
      for (let frame = 0; frame < FRAMES_PER_READ; frame++) {
        stamp.sender = sender;
        stamp.seq = seq++;
        writeSayFrame(read, frame * SAY_FRAME_BYTES, stamp);
      }
      sockets[sender]!.feed(read);
    }
    await nextTurn();
    while (ticks.length > 0) ticks.shift()!();
    await nextTurn();
  }
  let after = 0;
  for (const socket of sockets) after += socket.written;
  return after - before;
}

// Every member gets every message: a `message` frame is more than 200 bytes.
const LEAST_BYTES = MESSAGES_PER_ITERATION * MEMBERS * 200;

Deno.bench(
  `${MESSAGES_PER_ITERATION} say frames from ${SENDERS} JSON clients to a room of ${MEMBERS}`,
  { group: "message path", warmup: 1000, n: 1000 },
  async () => {
    const bytes = await iteration();
    if (bytes < LEAST_BYTES) throw new Error(`Only ${bytes} bytes were written`);
    if (sessions.some((session) => session.closed)) throw new Error("A session closed");
  },
);
