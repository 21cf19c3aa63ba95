/**
 * A bare Deno relay for the benchmark: the floor under `chat serve`. It writes the bytes `chat
 * serve` writes, in the fewest Deno calls a server can make for them, and does nothing else:
 *
 * - a `hello` gets the same `welcome` (the room's whole users list, the limits, the room, the
 *   features) and the room's last 50 messages (marked `history`); everyone gets a `join` notice (the newcomer
 *   too: a round is one buffer for all), or from 500 clients on the joins of a moment in one
 *   `presence`, as chat serve gathers them;
 * - every later frame goes to every client, the sender too, as a `message` event of the same
 *   length as chat serve's (the text of a `say` is copied, nothing is parsed or checked);
 * - fan-out goes in rounds: everything that arrived while a round was being written goes out in
 *   the next one, one write per client of one buffer shared by all, and the next round starts
 *   when every write of the last has completed, so reads come in between rounds;
 * - an idle connection holds what any Deno server must: its socket, its pending read into a
 *   128-byte slot of a shared slab (a larger buffer while a sender keeps filling it, as chat
 *   serve reads), and no send queue; the heap is trimmed once quiet after a burst, as chat
 *   serve trims it.
 *
 * No rooms, no history store, no names checked, no limits, no pacing, no leaves announced: what
 * it costs per delivery, per join and per idle connection is Deno's own.
 *
 * Not a server for people: it trusts its input and only ever listens on 127.0.0.1.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 bench/echo_server.ts [--port 0]
 * ```
 *
 * It prints `listening on port N` first, like `chat serve`, and exits on SIGTERM or SIGINT.
 *
 * @module
 */

import { parseFlags } from "../flags/flags.ts";
import { parseNumber } from "../flags/values.ts";
import { HEADER_BYTES, writeHeader } from "../protocol/frame64.ts";
import { encodeTextFrame } from "../protocol/frame64.ts";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import type { ServerLimits } from "../protocol/events.ts";
import { nextReadBuffer, SMALL_READ_BYTES } from "../server/connection.ts";
import { IDLE_GC_CHECK_MS, IdleGc, memoryReducingGc } from "../server/idle_gc.ts";
import { SlabPool } from "../server/slab_pool.ts";
import { joinBytes } from "../server/outgoing.ts";
import { encodeJsonWelcome, UserListJson, welcomeTail } from "../server/welcome.ts";

const _utf8 = new TextEncoder();
/** The start of every benchmark `say` body; the text follows it, then `"}`. */
const _SAY_OPEN = _utf8.encode('{"type":"say","text":"');
const _SAY_CLOSE_BYTES = 2;
/**
 * The `message` event is laid out as `chat serve` lays it out (the same fields, and the same
 * widths for the id and timestamp), so the relay writes the same number of bytes.
 */
const _MESSAGE_OPEN = '{"type":"message","id":1000000,"ts":"2026-12-06T00:00:00.000Z","from":"';
const _MESSAGE_CLOSE = _utf8.encode('","kind":"say","room":"#main"}');
/** The end of the same message replayed to a newcomer, marked as chat serve marks it. */
const _HISTORY_CLOSE = _utf8.encode('","kind":"say","room":"#main","history":true}');
/** Bodies above this are refused, as `chat serve` refuses them by default (1 MiB is plenty). */
const _MAX_BODY_BYTES = 1024 * 1024;
/**
 * From this many clients on, joins are gathered into one `presence` event, as `chat serve`
 * gathers a large room's (`--summary-members`, default 500): one notice per name would make a
 * join storm O(n²) here and not there.
 */
const _SUMMARY_CLIENTS = 500;
/** How long a join waits for company before it is announced (chat serve's wait). */
const _GATHER_MS = 100;
/** How many recent messages a newcomer is sent (chat serve's `--history` default). */
const _HISTORY = 50;
/** The limits `chat serve` announces under the benchmark's flags, so the welcome is as long. */
const _LIMITS: ServerLimits = {
  maxMessageBytes: 4096,
  rateBurst: 10,
  ratePerSecond: 0,
  pingIntervalSeconds: 30,
  idleTimeoutSeconds: 75,
};
/** The welcome's fields after the users list, as `chat serve` sends them. */
const _WELCOME_TAIL = welcomeTail({
  limits: _LIMITS,
  room: "#main",
  features: ["rooms", "identity", "presence", "resume"],
  epoch: "00000000",
});
/** The server name in the welcome: the host's, as `chat serve`'s default. */
const _SERVER_NAME = Deno.hostname();
/** Where idle read buffers come from: 128-byte slots of shared slabs, as in `chat serve`. */
const _READ_BUFFERS = new SlabPool(SMALL_READ_BYTES, 1024);

interface _Client {
  readonly conn: Deno.TcpConn;
  /** `..."from":"NAME","text":"`: everything of a message before its text; set at hello. */
  prefix: Uint8Array | null;
  /** The client's last write (it never rejects): the next one waits for it. */
  writes: Promise<void>;
  /** How many of its writes are pending; the first of several starts at once. */
  inFlight: number;
}

/**
 * The relay: accepts connections on a listener and relays frames between them until the
 * listener closes.
 */
export class EchoRelay {
  readonly #clients = new Set<_Client>();
  readonly #listener: Deno.TcpListener;
  /** Every client's name, in join order, for the welcome's users list. */
  readonly #names = new Map<_Client, string>();
  readonly #users = new UserListJson();
  /** The last {@linkcode _HISTORY} message frames, oldest first. */
  #history: Uint8Array[] = [];
  /** The frames gathered for the next round. */
  #round: Uint8Array[] = [];
  /** Writes of the current round not yet completed; a new round starts at 0. */
  #writing = 0;
  #roundScheduled = false;
  /** The names that joined a large room and are not announced yet. */
  #pendingJoins: string[] = [];
  #gatherTimer: ReturnType<typeof setTimeout> | undefined;
  #accepted = 0;
  readonly #trimTimer: ReturnType<typeof setInterval> | undefined;

  /** @param listener where clients connect */
  constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
    const collect = memoryReducingGc();
    if (collect !== undefined) {
      const trimmer = new IdleGc({ activity: () => this.#accepted, collect });
      this.#trimTimer = setInterval(() => trimmer.check(performance.now()), IDLE_GC_CHECK_MS);
    }
  }

  /** How many clients are connected. */
  get clients(): number {
    return this.#clients.size;
  }

  /**
   * Accepts clients until the listener is closed.
   *
   * @returns when the listener is closed
   */
  async serve(): Promise<void> {
    try {
      for await (const conn of this.#listener) this.#accept(conn);
    } catch {
      // The listener was closed.
    }
  }

  /** Closes the listener and every connection. */
  close(): void {
    clearTimeout(this.#gatherTimer);
    clearInterval(this.#trimTimer);
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const client of this.#clients) this.#drop(client);
  }

  #accept(conn: Deno.TcpConn): void {
    try {
      conn.setNoDelay(true);
    } catch {
      // Only latency suffers.
    }
    this.#accepted++;
    const client: _Client = { conn, prefix: null, writes: Promise.resolve(), inFlight: 0 };
    this.#clients.add(client);
    this.#read(client);
  }

  #drop(client: _Client): void {
    if (!this.#clients.delete(client)) return;
    if (this.#names.delete(client)) this.#users.invalidate();
    try {
      client.conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Reads until the connection ends, into a small buffer that grows while reads fill it. */
  #read(client: _Client): void {
    const parser = new Frame64Parser((body) => this.#onBody(client, body), {
      maxBodyBytes: _MAX_BODY_BYTES,
    });
    let buffer = _READ_BUFFERS.take();
    const ended = (): void => {
      _READ_BUFFERS.give(buffer);
      this.#drop(client);
    };
    const next = (count: number | null): void => {
      if (count === null) return ended();
      try {
        parser.push(buffer.subarray(0, count));
        buffer = nextReadBuffer(buffer, count, _READ_BUFFERS);
        client.conn.read(buffer).then(next, ended);
      } catch {
        // A framing error, or a read of a connection already dropped, ends it.
        ended();
      }
    };
    client.conn.read(buffer).then(next, ended);
  }

  #onBody(client: _Client, body: Uint8Array): void {
    if (client.prefix === null) {
      this.#hello(client, body);
      return;
    }
    // The text of a `say`, copied unchanged; anything else is relayed whole as the text.
    const isSay = body.length >= _SAY_OPEN.length + _SAY_CLOSE_BYTES &&
      _startsWith(body, _SAY_OPEN);
    const text = isSay ? body.subarray(_SAY_OPEN.length, body.length - _SAY_CLOSE_BYTES) : body;
    // Joins still waiting go first, in one summary, as chat serve hands them out.
    this.#announceJoins();
    // The frame is made once and shared by every client's write of the round; the copy kept as
    // history is marked as replayed, as chat serve marks it (a load generator skips those).
    this.#history.push(_messageFrame(client.prefix, text, _HISTORY_CLOSE));
    if (this.#history.length > _HISTORY) this.#history.shift();
    this.#toEveryone(_messageFrame(client.prefix, text, _MESSAGE_CLOSE));
  }

  #hello(client: _Client, body: Uint8Array): void {
    let name = "guest";
    try {
      const hello = JSON.parse(new TextDecoder().decode(body));
      if (typeof hello.name === "string") name = hello.name.slice(0, 32);
    } catch {
      // A client that does not say hello properly is called guest.
    }
    const quoted = JSON.stringify(name).slice(1, -1);
    client.prefix = _utf8.encode(`${_MESSAGE_OPEN}${quoted}","text":"`);
    this.#names.set(client, name);
    this.#users.add(name);
    const welcome = encodeJsonWelcome(
      { type: "welcome", name, server: _SERVER_NAME, protocol: 1 },
      this.#users.bytes(this.#names.values()),
      _WELCOME_TAIL,
    );
    // The users list is a view of shared bytes, as chat serve hands it out: written, not copied.
    for (const part of welcome) this.#write(client, part);
    if (this.#history.length > 0) this.#write(client, joinBytes(this.#history));
    if (this.#clients.size >= _SUMMARY_CLIENTS) {
      this.#pendingJoins.push(name);
      this.#gatherTimer ??= setTimeout(() => this.#announceJoins(), _GATHER_MS);
      return;
    }
    this.#toEveryone(encodeTextFrame(
      JSON.stringify({
        type: "join",
        name,
        ts: new Date().toISOString(),
        online: this.#clients.size,
      }),
    ));
  }

  /**
   * Announces the gathered joins to everyone as one `presence` (the newcomers too, who get their
   * own names: a floor needs the same bytes, not chat serve's exactness).
   */
  #announceJoins(): void {
    clearTimeout(this.#gatherTimer);
    this.#gatherTimer = undefined;
    if (this.#pendingJoins.length === 0) return;
    const presence = encodeTextFrame(
      JSON.stringify({
        type: "presence",
        ts: new Date().toISOString(),
        online: this.#clients.size,
        joined: this.#pendingJoins,
        left: [],
        room: "#main",
      }),
    );
    this.#pendingJoins = [];
    this.#toEveryone(presence);
  }

  /** Adds a frame to the next round, which starts once this turn's frames are in. */
  #toEveryone(frame: Uint8Array): void {
    this.#round.push(frame);
    if (this.#writing > 0 || this.#roundScheduled) return;
    this.#roundScheduled = true;
    queueMicrotask(() => {
      this.#roundScheduled = false;
      this.#startRound();
    });
  }

  /** Writes everything gathered to every client that said hello, as one shared buffer. */
  #startRound(): void {
    if (this.#round.length === 0 || this.#writing > 0) return;
    const bytes = joinBytes(this.#round);
    this.#round = [];
    for (const client of this.#clients) {
      if (client.prefix === null) continue;
      this.#writing++;
      this.#write(client, bytes, this.#roundWritten);
    }
    // Nobody to write to: the next frame starts the next round.
  }

  readonly #roundWritten = (): void => {
    if (--this.#writing === 0) this.#startRound();
  };

  /** Writes after the client's earlier writes; a failed write drops the client. */
  #write(client: _Client, bytes: Uint8Array, done?: () => void): void {
    const write = () => _writeAll(client.conn, bytes);
    client.inFlight++;
    client.writes = (client.inFlight === 1 ? write() : client.writes.then(write)).then(
      () => {
        client.inFlight--;
        done?.();
      },
      () => {
        client.inFlight--;
        this.#drop(client);
        done?.();
      },
    );
  }
}

/** A `message` frame: its fields up to the text, the text, and the fields after it. */
function _messageFrame(prefix: Uint8Array, text: Uint8Array, close: Uint8Array): Uint8Array {
  const length = prefix.length + text.length + close.length;
  const frame = new Uint8Array(HEADER_BYTES + length);
  writeHeader(length, frame, 0);
  frame.set(prefix, HEADER_BYTES);
  frame.set(text, HEADER_BYTES + prefix.length);
  frame.set(close, HEADER_BYTES + prefix.length + text.length);
  return frame;
}

/** Writes all of `bytes`, a partial write continuing where it stopped. */
function _writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  try {
    return conn.write(bytes).then((written) =>
      written < bytes.length ? _writeAll(conn, bytes.subarray(written)) : undefined
    );
  } catch (error) {
    return Promise.reject(error);
  }
}

function _startsWith(body: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) {
    if (body[i] !== prefix[i]) return false;
  }
  return true;
}

async function _main(args: readonly string[]): Promise<number> {
  const { values } = parseFlags(args, { port: { type: "string" } } as const, 0);
  const port = values.port === undefined
    ? 0
    : parseNumber("--port", values.port, { integer: true, min: 0, max: 65535 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port, transport: "tcp" });
  const relay = new EchoRelay(listener);
  const stop = () => relay.close();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  // deno-lint-ignore no-console
  console.log(`listening on port ${listener.addr.port}`);
  await relay.serve();
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await _main(Deno.args));
}
