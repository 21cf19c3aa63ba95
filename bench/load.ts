/**
 * The benchmark's load process: connects many JSON clients to a chat server, joins them in
 * batches, then either sends benchmark messages from a few of them (closed or open loop) while
 * every client checks and times what it receives, or holds them idle. Senders and receivers
 * live in this one process, so a message's send time and its arrival time are read from the
 * same monotonic clock.
 *
 * Run as its own process by `bench/main.ts`; it prints one JSON object per line on stdout:
 * phase events (`{"event":"joined",...}`) as they happen, then `{"result":{...}}`.
 *
 * @module
 */

import tls from "node:tls";
import { type Identity, newIdentity } from "../client/identity.ts";
import { fingerprintFromHex } from "../protocol/fingerprint.ts";
import process from "node:process";
import { parseFlags } from "../flags/flags.ts";
import { UsageError } from "../flags/usage_error.ts";
import { parseNumber } from "../flags/values.ts";
import { encodeTextFrame } from "../protocol/frame64.ts";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import { bytesEqual, bytesEqualAscii, newEventFields, scanEvent } from "./json_scan.ts";
import {
  type BenchStamp,
  MAX_SENDER,
  readBenchText,
  SAY_FRAME_BYTES,
  writeSayFrame,
} from "./message.ts";
import { LatencyHistogram, type LatencySummary } from "./stats.ts";
import { CoalescingWriter } from "./writer.ts";

/** What one load run does. Durations are in seconds. */
export interface LoadOptions {
  /** The server's address. */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /**
   * A second node of the same cluster (0 for none): the clients with an odd index join there,
   * so half of every sender's deliveries cross from one node to the other.
   */
  readonly port2: number;
  /** Connections to open and join (named `user0`, `user1`, ...). */
  readonly clients: number;
  /** How many of them send (the first ones); 0 holds every client idle. */
  readonly senders: number;
  /** Messages per second per sender (open loop); 0 for a closed loop. */
  readonly rate: number;
  /** Closed loop: messages a sender keeps in flight. */
  readonly window: number;
  /** Sending before the measurement window opens. */
  readonly warmup: number;
  /** The measurement window. */
  readonly duration: number;
  /** Longest wait, after the window, for the window's messages to arrive. */
  readonly drain: number;
  /** Idle runs (no senders): how long all clients stay joined. */
  readonly hold: number;
  /**
   * Rooms the clients are spread over: client i moves to `#r<i % rooms>` right after its hello.
   * 1 keeps everyone in `#main` (no room events at all). The senders are the first clients, so
   * with at least as many senders as rooms every room has one.
   */
  readonly rooms: number;
  /** Connections opened at once while joining. */
  readonly batch: number;
  /** Bound on joining and on waiting for the room's join notices to arrive. */
  readonly connectTimeout: number;
  /** Closed loop: a message not received by everyone after this long frees its slot. */
  readonly stall: number;
  /** Bytes of each connection's read buffer. */
  readonly readBufferBytes: number;
  /**
   * Connect with TLS to a server whose certificate has this fingerprint (its banner's): the
   * certificate is fetched once, checked, and then trusted by every connection.
   */
  readonly tlsFingerprint?: string;
  /** Join with an Ed25519 identity each (`hello.key`, then the challenge and `auth`). */
  readonly identity?: boolean;
}

/** The defaults of the load process's options (scenario (a) of the benchmark). */
export const DEFAULT_LOAD_OPTIONS: LoadOptions = Object.freeze({
  host: "127.0.0.1",
  port: 5050,
  port2: 0,
  clients: 100,
  senders: 10,
  rate: 0,
  window: 8,
  warmup: 2,
  duration: 10,
  drain: 3,
  hold: 3,
  rooms: 1,
  batch: 50,
  connectTimeout: 60,
  stall: 2,
  readBufferBytes: 65536,
});

/** Minimum and maximum of a set of numbers (null when the set is empty). */
export interface Range {
  readonly min: number | null;
  readonly max: number | null;
}

/** What a load run measured. Times are in ms unless the name says otherwise. */
export interface LoadResult {
  readonly options: LoadOptions;
  /** Clients that got `welcome`. */
  readonly joined: number;
  /** From the first connect until the last `welcome`. */
  readonly joinMs: number;
  /** Connect to `welcome`, per client. */
  readonly handshakeMs: { readonly mean: number | null; readonly max: number | null };
  /** Join notices received (each name of a `presence` is one), and how many a room of `joined` members sends (n(n-1)/2). */
  readonly joinEvents: number;
  readonly joinEventsExpected: number;
  /** Whether all expected join events arrived before traffic (or the hold) began. */
  readonly settled: boolean;
  /** From the last `welcome` until the join events had all arrived (or the wait gave up). */
  readonly settleMs: number;
  /** Messages sent in all, and with a send time inside the window. */
  readonly sent: number;
  readonly sentInWindow: number;
  /** Window messages times (clients - 1), and how many of those arrived by the end of the drain. */
  readonly expected: number;
  readonly delivered: number;
  /** 100 * (1 - delivered / expected); null without traffic. */
  readonly lossPct: number | null;
  /** Deliveries received while the window was open, per second of window. */
  readonly deliveriesPerSec: number;
  /** Messages sent in the window, per second of window. */
  readonly sentPerSec: number;
  /** Send to arrival of window messages, µs: delivered ones only, and counting missing ones. */
  readonly latencyUs: LatencySummary;
  readonly latencyInclUndeliveredUs: LatencySummary;
  /**
   * The same distribution as `[percent, µs]` points (missing deliveries infinitely late, `null`
   * there), for the latency chart. Absent from summaries written before it was added.
   */
  readonly latencyCurveUs?: readonly (readonly [number, number | null])[];
  /**
   * With two nodes: the latency of window deliveries whose sender joined the other node, µs,
   * and the deliveries during the window to the clients of each node (`port`, then `port2`).
   */
  readonly crossNode?: { readonly latencyUs: LatencySummary; readonly deliveredByNode: number[] };
  /** Send to the sender's own echo of window messages, µs, and how many echoes came back. */
  readonly ackUs: LatencySummary;
  readonly echoes: number;
  /** How long the drain took. */
  readonly drainMs: number;
  /** Deliveries per client over the whole run (fairness). */
  readonly receivedPerClient: Range;
  /** Damaged texts, and texts whose `from` is not their sender. */
  readonly corrupt: number;
  readonly misattributed: number;
  /** Messages that reached a member of another room than their sender's (must be 0). */
  readonly crossRoom: number;
  /** Clients that got `moved` into their room (rooms > 1). */
  readonly moved: number;
  /** Deliveries that came before an earlier one from the same sender, and skipped numbers. */
  readonly reordered: number;
  readonly gaps: number;
  /** Messages replayed on join (`history: true`). */
  readonly historyMsgs: number;
  /** Events other than messages, welcome, join and ping. */
  readonly otherMsgs: number;
  /** `leave` events among those. */
  readonly leaves: number;
  /** How many `leave` events gave each reason. */
  readonly leaveReasons: Readonly<Record<string, number>>;
  /** Bodies that are not a JSON object, and frames the parser refused. */
  readonly badJson: number;
  readonly framingErrors: number;
  readonly pingsAnswered: number;
  /** `error` replies before joining, and after. */
  readonly hsErrors: number;
  readonly serverErrors: number;
  readonly rateLimited: number;
  /** The first `error` event's body. */
  readonly firstError: string | null;
  /** Connections that failed to open, ended by the server, or failed to read or write. */
  readonly connectErrors: number;
  readonly eofs: number;
  readonly readErrors: number;
  readonly writeErrors: number;
  /** The first read or framing error, as text. */
  readonly firstReadError: string | null;
  /** Closed loop: slots freed because a message did not reach everyone in time. */
  readonly stalled: number;
  /** Open loop: sends skipped because the sender's own queue passed 8 MiB. */
  readonly skippedSends: number;
  /** Open loop: how late this process was against its schedule, µs. */
  readonly schedLagUs: { readonly mean: number | null; readonly max: number | null };
  /** Connections still open at the end. */
  readonly liveAtEnd: number;
}

/** A phase event: `joined`, `settled`, `measure_start`, `measure_end`, `hold_start`, `hold_end`. */
export interface LoadEvent {
  readonly event: string;
  /** ms since the run started. */
  readonly t: number;
  /**
   * The load process's own CPU time (user plus system) so far, in µs. It is reported with the
   * event because the process may have exited before its parent reads the line, and then
   * `/proc` has nothing left to sample.
   */
  readonly cpuUs: number;
  readonly [key: string]: unknown;
}

const _SKIP_QUEUE_BYTES = 8 * 1024 * 1024;
const _MAX_BODY_BYTES = 1024 * 1024;
const _utf8 = new TextEncoder();
const _text = new TextDecoder();

/** The room client `index` moves to when the clients are spread over `rooms` rooms. */
function _roomOf(index: number, rooms: number): string {
  return `#r${index % rooms}`;
}

/** One connection of the load. */
class _Client {
  readonly index: number;
  readonly name: string;
  readonly nameBytes: Uint8Array;
  conn: Deno.TcpConn | Deno.TlsConn | null = null;
  identity: Identity | null = null;
  writer: CoalescingWriter | null = null;
  parser: Frame64Parser | null = null;
  reading: Promise<void> = Promise.resolve();
  joined = false;
  failed = false;
  closed = false;
  connectAt = 0;
  received = 0;
  /** Highest sequence number seen from each sender. */
  lastSeq: Float64Array;

  constructor(index: number, senders: number) {
    this.index = index;
    this.name = `user${index}`;
    this.nameBytes = _utf8.encode(this.name);
    this.lastSeq = new Float64Array(senders).fill(-1);
  }
}

/**
 * Runs one load: join, settle, then traffic or an idle hold; see {@linkcode LoadOptions}.
 * Every phase is bounded in time. All connections are closed before it returns.
 *
 * @param options what to run
 * @param onEvent called at each phase boundary (to let a driver sample the server)
 * @returns what was measured
 * @throws {RangeError} if the options are inconsistent (more senders than clients, ...)
 */
export async function runLoad(
  options: LoadOptions,
  onEvent: (event: LoadEvent) => void = () => {},
): Promise<LoadResult> {
  _checkOptions(options);
  const run = new _LoadRun(options, onEvent);
  try {
    return await run.run();
  } finally {
    await run.closeAll();
  }
}

function _checkOptions(options: LoadOptions): void {
  const { clients, senders, window } = options;
  if (!Number.isSafeInteger(clients) || clients < 1 || clients - 1 > MAX_SENDER) {
    throw new RangeError(
      `Clients must be a whole number from 1 to ${MAX_SENDER + 1}: "${clients}"`,
    );
  }
  if (!Number.isSafeInteger(senders) || senders < 0 || senders > clients) {
    throw new RangeError(
      `Senders must be a whole number from 0 to the number of clients (${clients}): "${senders}"`,
    );
  }
  if (!Number.isSafeInteger(window) || window < 1 || window > 1024) {
    throw new RangeError(`Window must be a whole number from 1 to 1024: "${window}"`);
  }
}

class _LoadRun {
  readonly #o: LoadOptions;
  readonly #onEvent: (event: LoadEvent) => void;
  readonly #clients: _Client[] = [];
  readonly #t0 = performance.now();
  readonly #fields = newEventFields();
  readonly #stamp: BenchStamp = { sender: 0, seq: 0, sentUs: 0 };
  #closing = false;
  #wake: (() => void) | null = null;

  // Time of the read batch being processed, µs.
  #nowUs = 0;

  /** The server's certificate (PEM) when connecting with TLS. */
  #caCert: string | undefined;

  // Join.
  #joined = 0;
  #joinEvents = 0;
  /** The join-event count that ends the settle wait (none until the wait starts). */
  #settleTarget = -1;
  #handshakeSumMs = 0;
  #handshakeMaxMs = 0;

  // Traffic: window bounds in µs; before traffic starts they are infinite.
  #windowStartUs = Infinity;
  #windowEndUs = Infinity;
  #sending = false;
  #sent = 0;
  #sentInWindow = 0;
  #delivered = 0;
  #deliveredDuringWindow = 0;
  #echoes = 0;
  readonly #latency = new LatencyHistogram();
  readonly #crossLatency = new LatencyHistogram();
  readonly #deliveredByNode = [0, 0];
  readonly #ack = new LatencyHistogram();

  // Closed loop: a ring of slots per sender.
  readonly #ring: number;
  readonly #slotSeq: Float64Array;
  readonly #slotRemaining: Int32Array;
  readonly #slotSentUs: Float64Array;
  readonly #inFlight: Int32Array;
  readonly #nextSeq: Float64Array;
  #stalled = 0;

  // Open loop: the next send of the round-robin sequence, and the timer that waits for it.
  #openNext = 0;
  #openTimer: ReturnType<typeof setTimeout> | undefined;
  #skippedSends = 0;
  #lagSumUs = 0;
  #lagCount = 0;
  #lagMaxUs = 0;

  // Checks and counters.
  #corrupt = 0;
  #misattributed = 0;
  #crossRoom = 0;
  /** Window messages per sender (the audience differs by room). */
  readonly #sentInWindowBy: Float64Array;
  #moved = 0;
  #reordered = 0;
  #gaps = 0;
  #historyMsgs = 0;
  #otherMsgs = 0;
  #leaves = 0;
  readonly #leaveReasons: Record<string, number> = {};
  #badJson = 0;
  #framingErrors = 0;
  #pingsAnswered = 0;
  #hsErrors = 0;
  #serverErrors = 0;
  #rateLimited = 0;
  #firstError: string | null = null;
  #connectErrors = 0;
  #eofs = 0;
  #readErrors = 0;
  #writeErrors = 0;
  #firstReadError: string | null = null;

  constructor(options: LoadOptions, onEvent: (event: LoadEvent) => void) {
    this.#o = options;
    this.#onEvent = onEvent;
    this.#ring = Math.max(16, options.window * 2);
    const slots = options.senders * this.#ring;
    this.#slotSeq = new Float64Array(slots).fill(-1);
    this.#slotRemaining = new Int32Array(slots);
    this.#slotSentUs = new Float64Array(slots);
    this.#inFlight = new Int32Array(options.senders);
    this.#nextSeq = new Float64Array(options.senders);
    this.#sentInWindowBy = new Float64Array(options.senders);
    for (let i = 0; i < options.clients; i++) this.#clients.push(new _Client(i, options.senders));
  }

  async run(): Promise<LoadResult> {
    const o = this.#o;
    if (o.tlsFingerprint !== undefined) {
      this.#caCert = await fetchCertificate(o.host, o.port, o.tlsFingerprint);
    }
    if (o.identity === true) {
      // Made before the clock starts: a real client has its key already.
      const made = await Promise.all(this.#clients.map(() => newIdentity()));
      this.#clients.forEach((client, i) => client.identity = made[i]!);
    }
    const joinStart = performance.now();
    await this.#join(joinStart + o.connectTimeout * 1000);
    const joinMs = performance.now() - joinStart;
    this.#emit("joined", { joined: this.#joined, clients: o.clients, joinMs: Math.round(joinMs) });
    const settleStart = performance.now();
    const settled = await this.#settle(joinStart + o.connectTimeout * 1000);
    const settleMs = performance.now() - settleStart;
    this.#emit("settled", { settled, joinEvents: this.#joinEvents });
    let drainMs = 0;
    if (o.senders === 0) {
      this.#emit("hold_start");
      await _sleep(o.hold * 1000);
      this.#emit("hold_end", { live: this.#live() });
    } else {
      drainMs = await this.#traffic();
    }
    return this.#result(joinMs, settled, settleMs, drainMs);
  }

  async closeAll(): Promise<void> {
    this.#closing = true;
    this.#sending = false;
    for (const client of this.#clients) {
      client.writer?.close();
      if (client.conn !== null && !client.closed) {
        client.closed = true;
        try {
          client.conn.close();
        } catch {
          // Already closed by the read loop.
        }
      }
    }
    await Promise.all(this.#clients.map((client) => client.reading));
  }

  #emit(event: string, detail: Record<string, unknown> = {}): void {
    const cpu = process.cpuUsage();
    this.#onEvent({
      event,
      t: Math.round(performance.now() - this.#t0),
      cpuUs: cpu.user + cpu.system,
      ...detail,
    });
  }

  #notify(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }

  /** Waits until `done()` holds, re-checking on every notification and at least every 100 ms. */
  async #waitUntil(done: () => boolean, deadline: number): Promise<boolean> {
    while (!done()) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, Math.min(left, 100));
      });
      clearTimeout(timer);
    }
    return true;
  }

  #live(): number {
    let live = 0;
    for (const client of this.#clients) if (client.joined && !client.closed) live++;
    return live;
  }

  // ---------------------------------------------------------------------------------- join --

  async #join(deadline: number): Promise<void> {
    const { clients, batch } = this.#o;
    for (let first = 0; first < clients; first += batch) {
      if (performance.now() >= deadline) break;
      const group = this.#clients.slice(first, Math.min(first + batch, clients));
      await Promise.all(group.map((client) => this.#connect(client)));
      await this.#waitUntil(() => group.every((c) => c.joined || c.failed || c.closed), deadline);
    }
  }

  async #connect(client: _Client): Promise<void> {
    client.connectAt = performance.now();
    let conn: Deno.TcpConn | Deno.TlsConn;
    try {
      const port = this.#o.port2 > 0 && client.index % 2 === 1 ? this.#o.port2 : this.#o.port;
      conn = this.#caCert === undefined
        ? await Deno.connect({ hostname: this.#o.host, port, transport: "tcp" })
        : await Deno.connectTls({
          hostname: this.#o.host,
          port,
          caCerts: [this.#caCert],
        });
    } catch {
      this.#connectErrors++;
      client.failed = true;
      return;
    }
    client.conn = conn;
    try {
      (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
    } catch {
      // Not fatal: only latency suffers.
    }
    client.writer = new CoalescingWriter(conn, () => this.#onWriteError(client), 256);
    client.parser = new Frame64Parser((body) => this.#onBody(client, body), {
      maxBodyBytes: _MAX_BODY_BYTES,
    });
    client.reading = this.#readLoop(client, conn);
    client.writer.append(encodeTextFrame(JSON.stringify({
      type: "hello",
      name: client.name,
      protocol: 1,
      client: "chat-bench",
      ...(client.identity === null ? {} : { key: client.identity.publicKey }),
    })));
    if (this.#o.rooms > 1) {
      client.writer.append(
        encodeTextFrame(
          JSON.stringify({ type: "room", name: _roomOf(client.index, this.#o.rooms) }),
        ),
      );
    }
  }

  async #settle(deadline: number): Promise<boolean> {
    if (this.#o.rooms > 1) return await this.#settleRooms(deadline);
    const expected = this.#joined * (this.#joined - 1) / 2;
    this.#settleTarget = expected;
    let seen = this.#joinEvents;
    let progressAt = performance.now();
    // Give up early when join events stop arriving for 3 s.
    return await this.#waitUntil(() => {
      if (this.#joinEvents >= expected) return true;
      const now = performance.now();
      if (this.#joinEvents !== seen) {
        seen = this.#joinEvents;
        progressAt = now;
      }
      return now - progressAt > 3000;
    }, deadline) && this.#joinEvents >= expected;
  }

  /**
   * With rooms, the join and leave notices depend on who moved when, so there is no count to
   * wait for: every client must have its `moved`, then the notices must stop for 300 ms.
   */
  async #settleRooms(deadline: number): Promise<boolean> {
    if (!await this.#waitUntil(() => this.#moved >= this.#joined, deadline)) return false;
    let seen = -1;
    let quietSince = performance.now();
    return await this.#waitUntil(() => {
      const now = performance.now();
      const notices = this.#joinEvents + this.#otherMsgs;
      if (notices !== seen) {
        seen = notices;
        quietSince = now;
      }
      return now - quietSince > 300;
    }, deadline);
  }

  // ------------------------------------------------------------------------------- reading --

  async #readLoop(client: _Client, conn: Deno.TcpConn | Deno.TlsConn): Promise<void> {
    const buffer = new Uint8Array(this.#o.readBufferBytes);
    const parser = client.parser!;
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) {
          if (!this.#closing) this.#eofs++;
          break;
        }
        this.#nowUs = performance.now() * 1000;
        parser.push(buffer.subarray(0, n));
      }
    } catch (error) {
      if (!this.#closing && !client.closed) {
        if (error instanceof Error && error.name === "FramingError") this.#framingErrors++;
        else this.#readErrors++;
        this.#firstReadError ??= String(error);
      }
    } finally {
      if (!client.closed) {
        client.closed = true;
        client.writer?.close();
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      if (!client.joined) client.failed = true;
      this.#notify();
    }
  }

  #onWriteError(client: _Client): void {
    if (this.#closing || client.closed) return;
    this.#writeErrors++;
  }

  #onBody(client: _Client, body: Uint8Array): void {
    // Fast path for the join notices that flood every member while a big room fills up.
    if (_startsWith(body, _JOIN_PREFIX)) {
      if (++this.#joinEvents === this.#settleTarget) this.#notify();
      return;
    }
    // A large room's joins of a moment come as one summary: each name in it is one notice.
    if (_startsWith(body, _PRESENCE_PREFIX)) {
      const joined = (JSON.parse(_text.decode(body)) as { joined: readonly string[] }).joined;
      const before = this.#joinEvents;
      this.#joinEvents += joined.length;
      if (before < this.#settleTarget && this.#joinEvents >= this.#settleTarget) this.#notify();
      return;
    }
    if (_startsWith(body, _CHALLENGE_PREFIX) && client.identity !== null) {
      const nonce = (JSON.parse(_text.decode(body)) as { nonce: string }).nonce;
      const writer = client.writer;
      void client.identity.sign(nonce, client.name).then((signature) =>
        writer?.append(encodeTextFrame(JSON.stringify({ type: "auth", signature })))
      );
      return;
    }
    const f = this.#fields;
    if (!scanEvent(body, f)) {
      this.#badJson++;
      return;
    }
    const typeLength = f.typeEnd - f.typeStart;
    if (typeLength === 7 && bytesEqualAscii(body, f.typeStart, f.typeEnd, "message")) {
      this.#onMessage(client, body);
    } else if (typeLength === 4 && bytesEqualAscii(body, f.typeStart, f.typeEnd, "join")) {
      if (++this.#joinEvents === this.#settleTarget) this.#notify();
    } else if (typeLength === 4 && bytesEqualAscii(body, f.typeStart, f.typeEnd, "ping")) {
      this.#answerPing(client, body);
    } else if (typeLength === 7 && bytesEqualAscii(body, f.typeStart, f.typeEnd, "welcome")) {
      if (!client.joined) {
        client.joined = true;
        this.#joined++;
        const ms = performance.now() - client.connectAt;
        this.#handshakeSumMs += ms;
        if (ms > this.#handshakeMaxMs) this.#handshakeMaxMs = ms;
        this.#notify();
      } else {
        this.#otherMsgs++;
      }
    } else if (typeLength === 5 && bytesEqualAscii(body, f.typeStart, f.typeEnd, "error")) {
      this.#firstError ??= _text.decode(body);
      if (!client.joined) {
        this.#hsErrors++;
        client.failed = true;
        this.#notify();
      } else {
        this.#serverErrors++;
        if (bytesEqualAscii(body, f.codeStart, f.codeEnd, "rate_limited")) this.#rateLimited++;
      }
    } else if (typeLength === 5 && bytesEqualAscii(body, f.typeStart, f.typeEnd, "moved")) {
      this.#moved++;
      this.#notify();
    } else {
      this.#otherMsgs++;
      if (typeLength === 5 && bytesEqualAscii(body, f.typeStart, f.typeEnd, "leave")) {
        this.#onLeave(body);
      }
    }
  }

  #onLeave(body: Uint8Array): void {
    this.#leaves++;
    let reason = "unknown";
    try {
      const event = JSON.parse(_text.decode(body));
      if (typeof event.reason === "string") reason = event.reason.slice(0, 32);
    } catch {
      // Counted as a leave of unknown reason.
    }
    this.#leaveReasons[reason] = (this.#leaveReasons[reason] ?? 0) + 1;
  }

  #answerPing(client: _Client, body: Uint8Array): void {
    const f = this.#fields;
    const id = f.idStart < 0 ? "" : `,"id":${_text.decode(body.subarray(f.idStart, f.idEnd))}`;
    client.writer?.append(encodeTextFrame(`{"type":"pong"${id}}`));
    this.#pingsAnswered++;
  }

  #onMessage(client: _Client, body: Uint8Array): void {
    const f = this.#fields;
    if (f.history) {
      this.#historyMsgs++;
      return;
    }
    const stamp = this.#stamp;
    if (f.textEscaped || !readBenchText(body, f.textStart, f.textEnd, stamp)) {
      this.#corrupt++;
      return;
    }
    const sender = stamp.sender;
    if (sender >= this.#o.senders) {
      this.#corrupt++;
      return;
    }
    if (!bytesEqual(body, f.fromStart, f.fromEnd, this.#clients[sender]!.nameBytes)) {
      this.#misattributed++;
      return;
    }
    const rooms = this.#o.rooms;
    if (rooms > 1 && sender % rooms !== client.index % rooms) {
      this.#crossRoom++;
      return;
    }
    const now = this.#nowUs;
    const inWindow = stamp.sentUs >= this.#windowStartUs && stamp.sentUs < this.#windowEndUs;
    if (sender === client.index) {
      if (inWindow) {
        this.#echoes++;
        this.#ack.record(now - stamp.sentUs);
      }
      return;
    }
    client.received++;
    if (now >= this.#windowStartUs && now < this.#windowEndUs) {
      this.#deliveredDuringWindow++;
      if (this.#o.port2 > 0) this.#deliveredByNode[client.index % 2]!++;
    }
    if (inWindow) {
      this.#delivered++;
      this.#latency.record(now - stamp.sentUs);
      if (this.#o.port2 > 0 && sender % 2 !== client.index % 2) {
        this.#crossLatency.record(now - stamp.sentUs);
      }
    }
    const seq = stamp.seq;
    const last = client.lastSeq[sender]!;
    if (seq <= last) {
      this.#reordered++;
      return;
    }
    if (seq > last + 1) this.#gaps += seq - last - 1;
    client.lastSeq[sender] = seq;
    if (this.#o.rate === 0) this.#countReceipts(sender, last, seq);
  }

  /** Closed loop: one receiver now has (or has skipped) `sender`'s messages after `last` up to `seq`. */
  #countReceipts(sender: number, last: number, seq: number): void {
    const ring = this.#ring;
    const base = sender * ring;
    for (let s = Math.max(last + 1, seq - ring + 1); s <= seq; s++) {
      const slot = base + (s % ring);
      if (this.#slotSeq[slot] !== s) continue;
      if (--this.#slotRemaining[slot]! <= 0) this.#complete(sender, slot);
    }
  }

  #complete(sender: number, slot: number): void {
    this.#slotSeq[slot] = -1;
    this.#inFlight[sender]!--;
    if (this.#sending) this.#fillWindow(sender);
  }

  // ------------------------------------------------------------------------------- sending --

  #send(sender: number, nowUs: number): void {
    const client = this.#clients[sender]!;
    const writer = client.writer;
    if (writer === null || client.closed || !client.joined) return;
    const seq = this.#nextSeq[sender]!;
    this.#nextSeq[sender] = seq + 1;
    const stamp = this.#stamp;
    stamp.sender = sender;
    stamp.seq = seq;
    stamp.sentUs = Math.round(nowUs);
    const at = writer.reserve(SAY_FRAME_BYTES);
    writeSayFrame(writer.buffer, at, stamp);
    this.#sent++;
    if (stamp.sentUs >= this.#windowStartUs && stamp.sentUs < this.#windowEndUs) {
      this.#sentInWindow++;
      this.#sentInWindowBy[sender]!++;
    }
    if (this.#o.rate === 0) {
      const slot = sender * this.#ring + (seq % this.#ring);
      if (this.#slotSeq[slot] !== -1) {
        // The ring came round to a message that is still out: free it as stalled.
        this.#stalled++;
        this.#inFlight[sender]!--;
      }
      this.#slotSeq[slot] = seq;
      this.#slotRemaining[slot] = Math.max(1, this.#audience(sender));
      this.#slotSentUs[slot] = stamp.sentUs;
      this.#inFlight[sender]!++;
    }
  }

  #fillWindow(sender: number): void {
    const nowUs = performance.now() * 1000;
    if (nowUs >= this.#windowEndUs) {
      this.#sending = false;
      return;
    }
    while (this.#inFlight[sender]! < this.#o.window) {
      const before = this.#sent;
      this.#send(sender, nowUs);
      if (this.#sent === before) return;
    }
  }

  #releaseStalled(): void {
    const nowUs = performance.now() * 1000;
    const stallUs = this.#o.stall * 1e6;
    for (let sender = 0; sender < this.#o.senders; sender++) {
      const base = sender * this.#ring;
      for (let slot = base; slot < base + this.#ring; slot++) {
        if (this.#slotSeq[slot] === -1 || nowUs - this.#slotSentUs[slot]! <= stallUs) continue;
        this.#stalled++;
        this.#complete(sender, slot);
      }
    }
  }

  /**
   * Open loop: sends every message that is due, then sleeps until the next one is. All senders
   * share one period and are staggered evenly, so the sends form one round-robin sequence:
   * send `n` is sender `n % senders`'s, due at `start + n * period / senders`.
   */
  #tickOpenLoop(startUs: number, stepUs: number): void {
    this.#openTimer = undefined;
    const nowUs = performance.now() * 1000;
    const end = Math.min(nowUs, this.#windowEndUs);
    const senders = this.#o.senders;
    while (startUs + this.#openNext * stepUs <= end) {
      const dueUs = startUs + this.#openNext * stepUs;
      const sender = this.#openNext % senders;
      this.#openNext++;
      const lag = nowUs - dueUs;
      this.#lagSumUs += lag;
      this.#lagCount++;
      if (lag > this.#lagMaxUs) this.#lagMaxUs = lag;
      const writer = this.#clients[sender]!.writer;
      if (writer !== null && writer.queuedBytes > _SKIP_QUEUE_BYTES) this.#skippedSends++;
      else this.#send(sender, nowUs);
    }
    const nextUs = startUs + this.#openNext * stepUs;
    if (nextUs >= this.#windowEndUs) return;
    const waitMs = Math.max(0, (nextUs - performance.now() * 1000) / 1000);
    this.#openTimer = setTimeout(() => this.#tickOpenLoop(startUs, stepUs), waitMs);
  }

  /** Warm-up, window and drain; returns the drain's length in ms. */
  async #traffic(): Promise<number> {
    const o = this.#o;
    const startUs = performance.now() * 1000;
    this.#windowStartUs = startUs + o.warmup * 1e6;
    this.#windowEndUs = this.#windowStartUs + o.duration * 1e6;
    this.#sending = true;
    const timers: ReturnType<typeof setTimeout>[] = [];
    timers.push(setTimeout(() => this.#emit("measure_start"), o.warmup * 1000));
    let ticker: ReturnType<typeof setInterval> | undefined;
    if (o.rate === 0) {
      for (let sender = 0; sender < o.senders; sender++) this.#fillWindow(sender);
      ticker = setInterval(() => this.#releaseStalled(), 100);
    } else {
      this.#tickOpenLoop(startUs, 1e6 / o.rate / o.senders);
    }
    try {
      await _sleep(Math.max(0, this.#windowEndUs / 1000 - performance.now()));
      this.#sending = false;
      this.#emit("measure_end", { sentInWindow: this.#sentInWindow });
      clearInterval(ticker);
      clearTimeout(this.#openTimer);
      const drainStart = performance.now();
      const expected = this.#expected();
      await this.#waitUntilPolled(() => this.#delivered >= expected, drainStart + o.drain * 1000);
      return performance.now() - drainStart;
    } finally {
      clearInterval(ticker);
      clearTimeout(this.#openTimer);
      for (const timer of timers) clearTimeout(timer);
    }
  }

  /** Like `#waitUntil`, but polls every 10 ms (deliveries do not notify). */
  async #waitUntilPolled(done: () => boolean, deadline: number): Promise<void> {
    while (!done() && performance.now() < deadline) {
      await _sleep(Math.min(10, Math.max(0, deadline - performance.now())));
    }
  }

  /** How many clients other than the sender are in the sender's room. */
  #audience(sender: number): number {
    const { clients, rooms } = this.#o;
    if (rooms <= 1) return clients - 1;
    // Clients sender % rooms, sender % rooms + rooms, ... share the sender's room.
    return Math.floor((clients - 1 - (sender % rooms)) / rooms);
  }

  /** Window messages times the audience of their sender, per sender. */
  #expected(): number {
    let expected = 0;
    for (let sender = 0; sender < this.#o.senders; sender++) {
      expected += this.#sentInWindowBy[sender]! * this.#audience(sender);
    }
    return expected;
  }

  // -------------------------------------------------------------------------------- result --

  #result(joinMs: number, settled: boolean, settleMs: number, drainMs: number): LoadResult {
    const o = this.#o;
    const traffic = o.senders > 0;
    const expected = this.#expected();
    const undelivered = Math.max(0, expected - this.#delivered);
    let min: number | null = null;
    let max: number | null = null;
    for (const client of this.#clients) {
      // Senders never receive their own messages, so only receivers are compared.
      if (!client.joined || (client.index < o.senders && o.senders < o.clients)) continue;
      min = min === null ? client.received : Math.min(min, client.received);
      max = max === null ? client.received : Math.max(max, client.received);
    }
    const round = (value: number, digits = 0): number => {
      const scale = 10 ** digits;
      return Math.round(value * scale) / scale;
    };
    return {
      options: o,
      joined: this.#joined,
      joinMs: round(joinMs),
      handshakeMs: {
        mean: this.#joined === 0 ? null : round(this.#handshakeSumMs / this.#joined, 2),
        max: this.#joined === 0 ? null : round(this.#handshakeMaxMs, 2),
      },
      joinEvents: this.#joinEvents,
      joinEventsExpected: this.#joined * (this.#joined - 1) / 2,
      settled,
      settleMs: round(settleMs),
      sent: this.#sent,
      sentInWindow: this.#sentInWindow,
      expected,
      delivered: this.#delivered,
      lossPct: traffic && expected > 0 ? round(100 * (1 - this.#delivered / expected), 4) : null,
      deliveriesPerSec: traffic ? round(this.#deliveredDuringWindow / o.duration) : 0,
      sentPerSec: traffic ? round(this.#sentInWindow / o.duration, 1) : 0,
      latencyUs: this.#latency.summary(),
      latencyInclUndeliveredUs: this.#latency.summary(undelivered),
      latencyCurveUs: this.#latency.curve(undefined, undelivered),
      ...(o.port2 > 0
        ? {
          crossNode: {
            latencyUs: this.#crossLatency.summary(),
            deliveredByNode: [...this.#deliveredByNode],
          },
        }
        : {}),
      ackUs: this.#ack.summary(Math.max(0, this.#sentInWindow - this.#echoes)),
      echoes: this.#echoes,
      drainMs: round(drainMs),
      receivedPerClient: { min, max },
      corrupt: this.#corrupt,
      misattributed: this.#misattributed,
      crossRoom: this.#crossRoom,
      moved: this.#moved,
      reordered: this.#reordered,
      gaps: this.#gaps,
      historyMsgs: this.#historyMsgs,
      otherMsgs: this.#otherMsgs,
      leaves: this.#leaves,
      leaveReasons: this.#leaveReasons,
      badJson: this.#badJson,
      framingErrors: this.#framingErrors,
      pingsAnswered: this.#pingsAnswered,
      hsErrors: this.#hsErrors,
      serverErrors: this.#serverErrors,
      rateLimited: this.#rateLimited,
      firstError: this.#firstError,
      connectErrors: this.#connectErrors,
      eofs: this.#eofs,
      readErrors: this.#readErrors,
      writeErrors: this.#writeErrors,
      firstReadError: this.#firstReadError,
      stalled: this.#stalled,
      skippedSends: this.#skippedSends,
      schedLagUs: {
        mean: this.#lagCount === 0 ? null : round(this.#lagSumUs / this.#lagCount),
        max: this.#lagCount === 0 ? null : round(this.#lagMaxUs),
      },
      liveAtEnd: this.#live(),
    };
  }
}

const _JOIN_PREFIX = _utf8.encode('{"type":"join",');
const _CHALLENGE_PREFIX = _utf8.encode('{"type":"challenge",');
const _PRESENCE_PREFIX = _utf8.encode('{"type":"presence",');

function _startsWith(body: Uint8Array, prefix: Uint8Array): boolean {
  if (body.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (body[i] !== prefix[i]) return false;
  }
  return true;
}

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ------------------------------------------------------------------------------------- CLI --

const _FLAGS = {
  "host": { type: "string" },
  "port": { type: "string" },
  "port2": { type: "string" },
  "clients": { type: "string" },
  "senders": { type: "string" },
  "rate": { type: "string" },
  "window": { type: "string" },
  "warmup": { type: "string" },
  "duration": { type: "string" },
  "drain": { type: "string" },
  "hold": { type: "string" },
  "batch": { type: "string" },
  "connect-timeout": { type: "string" },
  "stall": { type: "string" },
  "read-buffer": { type: "string" },
  "rooms": { type: "string" },
  "tls-fingerprint": { type: "string" },
  "identity": { type: "boolean" },
  "help": { type: "boolean", short: "h" },
} as const;

/** The help of the load process. */
export const LOAD_HELP = `bench/load.ts: the load process of 'deno task bench'

Usage: deno run --allow-net=127.0.0.1 bench/load.ts --port PORT [options]

Joins --clients JSON clients (user0, user1, ...) to the chat server at --host:--port, then
lets the first --senders of them send 64-byte messages (a closed loop with --window in flight
each, or --rate messages per second each) for --warmup + --duration seconds, or holds them all
idle for --hold seconds when --senders is 0. Prints phase events and the result as JSON lines.

Options (durations in seconds; defaults in brackets):
  --host HOST             server address [${DEFAULT_LOAD_OPTIONS.host}]
  --port PORT             server port (required)
  --port2 PORT            a second node of the same cluster: odd clients join there [none]
  --clients N             connections [${DEFAULT_LOAD_OPTIONS.clients}]
  --senders N             senders among them, 0 for an idle run [${DEFAULT_LOAD_OPTIONS.senders}]
  --rate R                messages per second per sender, 0 for a closed loop [${DEFAULT_LOAD_OPTIONS.rate}]
  --window N              closed loop: messages in flight per sender [${DEFAULT_LOAD_OPTIONS.window}]
  --warmup S              sending before the window [${DEFAULT_LOAD_OPTIONS.warmup}]
  --duration S            the measurement window [${DEFAULT_LOAD_OPTIONS.duration}]
  --drain S               longest wait for late deliveries [${DEFAULT_LOAD_OPTIONS.drain}]
  --hold S                idle run: how long to stay joined [${DEFAULT_LOAD_OPTIONS.hold}]
  --rooms N               spread the clients over N rooms (#r0, #r1, ...), 1 for #main only [${DEFAULT_LOAD_OPTIONS.rooms}]
  --batch N               connections opened at once while joining [${DEFAULT_LOAD_OPTIONS.batch}]
  --connect-timeout S     bound on joining and on the join notices [${DEFAULT_LOAD_OPTIONS.connectTimeout}]
  --stall S               closed loop: free a message's slot after this [${DEFAULT_LOAD_OPTIONS.stall}]
  --read-buffer BYTES     read buffer per connection [${DEFAULT_LOAD_OPTIONS.readBufferBytes}]
  --tls-fingerprint FP    connect with TLS; --port is the TLS port, FP its certificate's
  --identity              join with an Ed25519 key each (challenge and auth) [off]
  -h, --help              show this help
`;

/**
 * Reads the load process's arguments into options.
 *
 * @param args the command-line arguments
 * @returns the options, or null when `--help` was asked for
 * @throws {UsageError} for an unknown flag, a bad value, or no `--port`
 * @example Read a closed-loop run
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLoadArgs } from "./load.ts";
 * const options = parseLoadArgs(["--port", "5000", "--clients", "20", "--senders", "2"]);
 * assert.ok(options !== null && options.clients === 20 && options.window === 8);
 * ```
 */
export function parseLoadArgs(args: readonly string[]): LoadOptions | null {
  const { values } = parseFlags(args, _FLAGS, 0);
  if (values.help) return null;
  if (values.port === undefined) throw new UsageError("The --port option is required");
  const whole = (flag: string, text: string | undefined, fallback: number, min: number) =>
    text === undefined ? fallback : parseNumber(`--${flag}`, text, { integer: true, min });
  const seconds = (flag: string, text: string | undefined, fallback: number) =>
    text === undefined
      ? fallback
      : parseNumber(`--${flag}`, text, { integer: false, min: 0, unit: "seconds" });
  const d = DEFAULT_LOAD_OPTIONS;
  return {
    host: values.host ?? d.host,
    port: parseNumber("--port", values.port, { integer: true, min: 1, max: 65535 }),
    port2: values.port2 === undefined
      ? 0
      : parseNumber("--port2", values.port2, { integer: true, min: 1, max: 65535 }),
    clients: whole("clients", values.clients, d.clients, 1),
    senders: whole("senders", values.senders, d.senders, 0),
    rate: values.rate === undefined
      ? d.rate
      : parseNumber("--rate", values.rate, { integer: false, min: 0, zeroMeans: "closed loop" }),
    window: whole("window", values.window, d.window, 1),
    warmup: seconds("warmup", values.warmup, d.warmup),
    duration: values.duration === undefined ? d.duration : parseNumber(
      "--duration",
      values.duration,
      { integer: false, min: 0, aboveMin: true, unit: "seconds" },
    ),
    drain: seconds("drain", values.drain, d.drain),
    hold: seconds("hold", values.hold, d.hold),
    rooms: whole("rooms", values.rooms, d.rooms, 1),
    batch: whole("batch", values.batch, d.batch, 1),
    connectTimeout: seconds("connect-timeout", values["connect-timeout"], d.connectTimeout),
    stall: seconds("stall", values.stall, d.stall),
    readBufferBytes: whole("read-buffer", values["read-buffer"], d.readBufferBytes, 1024),
    ...(values["tls-fingerprint"] === undefined
      ? {}
      : { tlsFingerprint: values["tls-fingerprint"] }),
    ...(values.identity === true ? { identity: true } : {}),
  };
}

async function _main(args: readonly string[]): Promise<number> {
  let options: LoadOptions | null;
  try {
    options = parseLoadArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // deno-lint-ignore no-console
    console.error(`${error.message}\nRun with --help for the options`);
    return 2;
  }
  if (options === null) {
    // deno-lint-ignore no-console
    console.log(LOAD_HELP);
    return 0;
  }
  // deno-lint-ignore no-console
  const result = await runLoad(options, (event) => console.log(JSON.stringify(event)));
  // deno-lint-ignore no-console
  console.log(JSON.stringify({ result }));
  return 0;
}

if (import.meta.main) {
  Deno.exit(await _main(Deno.args));
}

/**
 * Fetches a TLS server's certificate and checks it has the fingerprint its banner printed, so
 * the load's connections can trust exactly that certificate.
 *
 * @param host the server's address
 * @param port its TLS port
 * @param fingerprint the fingerprint it printed (`SHA256:...`)
 * @returns the certificate, PEM
 * @throws {Error} when the certificate has another fingerprint
 */
export function fetchCertificate(host: string, port: number, fingerprint: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false }, () => {
      const peer = socket.getPeerCertificate();
      socket.destroy();
      const seen = fingerprintFromHex(peer.fingerprint256 ?? "");
      if (seen !== fingerprint) {
        reject(new Error(`The certificate at ${host}:${port} is ${seen}, not ${fingerprint}`));
        return;
      }
      const base64 = btoa(String.fromCharCode(...peer.raw)).replace(/.{64}/g, "$&\n");
      resolve(
        `-----BEGIN CERTIFICATE-----\n${base64.replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`,
      );
    });
    socket.once("error", reject);
  });
}
