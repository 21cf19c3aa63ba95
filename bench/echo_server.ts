/**
 * A bare Deno relay for the benchmark: the floor under `chat serve`. It speaks just enough of
 * the JSON protocol for `bench/load.ts` (a `welcome` and a `join` notice to everyone when a
 * client says `hello`; from 500 clients on, the joins of a moment in one `presence`, as chat
 * serve does) and relays every later frame to every client, the sender too, as a
 * `message` event of the same length as the one `chat serve` sends. It has no chat logic at
 * all: no JSON parsing after the hello, no validation, no limits, no rooms, no history, no
 * pacing. Each delivery is a byte copy into the recipient's queue (one write pending per
 * connection, as `chat serve` has), so what it costs per delivery is Deno's own: reading,
 * framing, copying and the write call.
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
import { CoalescingWriter } from "./writer.ts";

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

interface _Client {
  readonly conn: Deno.TcpConn;
  readonly writer: CoalescingWriter;
  /** `..."from":"NAME","text":"`: everything of a message before its text; set at hello. */
  prefix: Uint8Array | null;
}

/**
 * The relay: accepts connections on a listener and relays frames between them until the
 * listener closes.
 */
export class EchoRelay {
  readonly #clients = new Set<_Client>();
  readonly #listener: Deno.TcpListener;
  #scratch = new Uint8Array(1024);
  /** The names that joined a large room and are not announced yet. */
  #pendingJoins: string[] = [];
  #gatherTimer: ReturnType<typeof setTimeout> | undefined;

  /** @param listener where clients connect */
  constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
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
    const client: _Client = {
      conn,
      writer: new CoalescingWriter(conn, () => this.#drop(client), 256),
      prefix: null,
    };
    this.#clients.add(client);
    void this.#read(client);
  }

  #drop(client: _Client): void {
    if (!this.#clients.delete(client)) return;
    client.writer.close();
    try {
      client.conn.close();
    } catch {
      // Already closed.
    }
  }

  async #read(client: _Client): Promise<void> {
    const parser = new Frame64Parser((body) => this.#onBody(client, body), {
      maxBodyBytes: _MAX_BODY_BYTES,
    });
    const buffer = new Uint8Array(65536);
    try {
      // Bounded by the connection: read returns null at its end.
      for (;;) {
        const n = await client.conn.read(buffer);
        if (n === null) break;
        parser.push(buffer.subarray(0, n));
      }
    } catch {
      // A reset or a framing error ends the connection.
    }
    this.#drop(client);
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
    // The frame is made once and copied into every member's queue: a delivery costs a copy.
    const prefix = client.prefix;
    const length = prefix.length + text.length + _MESSAGE_CLOSE.length;
    const frame = this.#frame(HEADER_BYTES + length);
    writeHeader(length, frame, 0);
    frame.set(prefix, HEADER_BYTES);
    frame.set(text, HEADER_BYTES + prefix.length);
    frame.set(_MESSAGE_CLOSE, HEADER_BYTES + prefix.length + text.length);
    for (const member of this.#clients) {
      if (member.prefix !== null) member.writer.append(frame);
    }
  }

  /** A scratch buffer of `length` bytes, reused from message to message. */
  #frame(length: number): Uint8Array {
    if (this.#scratch.length < length) this.#scratch = new Uint8Array(length * 2);
    return this.#scratch.subarray(0, length);
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
    client.writer.append(encodeTextFrame(JSON.stringify({ type: "welcome", name, protocol: 1 })));
    if (this.#clients.size >= _SUMMARY_CLIENTS) {
      this.#pendingJoins.push(name);
      this.#gatherTimer ??= setTimeout(() => this.#announceJoins(), _GATHER_MS);
      return;
    }
    const join = encodeTextFrame(
      JSON.stringify({
        type: "join",
        name,
        ts: new Date().toISOString(),
        online: this.#clients.size,
      }),
    );
    for (const member of this.#clients) {
      if (member !== client && member.prefix !== null) member.writer.append(join);
    }
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
    for (const member of this.#clients) {
      if (member.prefix !== null) member.writer.append(presence);
    }
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
