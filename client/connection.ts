/**
 * One connection from the client to a server: TCP with a connect timeout, frame64 JSON events
 * out through a single ordered write queue, and checked server events in, in batches (all the
 * events one read brought), so a burst can be shown with one terminal write.
 *
 * @module
 */

import { runnable } from "../flags/invocation.ts";
import { encodeTextFrame } from "../protocol/frame64.ts";
import { FramingError } from "../protocol/errors.ts";
import { Frame64DecoderStream } from "../protocol/streams.ts";
import type { ClientEvent, ServerEvent } from "../protocol/events.ts";
import { sanitizeLine } from "../protocol/sanitize.ts";
import { decodeServerEvent } from "./server_event.ts";

/** How long a connection attempt may take before it is given up, in milliseconds. */
export const CONNECT_TIMEOUT_MS = 5000;

/** The largest frame body the client accepts from a server (a user list can be long). */
export const MAX_INCOMING_BODY_BYTES = 16 * 1024 * 1024;

/** The byte streams a {@linkcode ChatConnection} runs over; `Deno.TcpConn` is one. */
export interface Transport {
  /** Bytes from the server. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the server. */
  readonly writable: WritableStream<Uint8Array>;
  /** Closes both directions. May throw if already closed. */
  close(): void;
}

/** Opens a transport; the default is `Deno.connect`. */
export type Dialer = (host: string, port: number) => Promise<Transport>;

/** Why a connection attempt failed. */
export type ConnectFailure = "refused" | "unknown_host" | "timeout" | "unreachable" | "other";

/**
 * Shows a host and port the way a person would type them: `[::1]:5050` for IPv6.
 *
 * @param host a host name or IP address (IPv6 without brackets)
 * @param port the port
 * @returns the address as text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatAddress } from "./connection.ts";
 * assert.ok(formatAddress("::1", 5050) === "[::1]:5050");
 * assert.ok(formatAddress("localhost", 5050) === "localhost:5050");
 * ```
 */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A connection attempt that failed: refused, unknown host, timed out, and so on. Its message
 * is one sentence that names the address and suggests `chat serve` (written as the reader can
 * run it: `deno task serve` in a checkout).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectError } from "./connection.ts";
 * const error = new ConnectError("127.0.0.1:5050", "refused");
 * assert.ok(error.message.startsWith("Could not connect to 127.0.0.1:5050: connection refused"));
 * ```
 */
export class ConnectError extends Error {
  /** The address tried, as `host:port`. */
  readonly address: string;
  /** Why it failed. */
  readonly failure: ConnectFailure;
  /** Why it failed, in a few words, without the address or the advice ("connection refused"). */
  readonly reason: string;

  /**
   * Makes the error for a failed attempt.
   *
   * @param address the address tried, as `host:port`
   * @param failure why it failed
   * @param detail the system's words for failures of kind `other`; the seconds waited for a
   *   `timeout`
   * @param options the cause, if any
   */
  constructor(address: string, failure: ConnectFailure, detail = "", options?: ErrorOptions) {
    const reason = _connectReason(failure, detail);
    const hint = failure === "unknown_host"
      ? `Check the name, or start a server with '${runnable("serve")}'`
      : `Is a server running there? Start one with '${runnable("serve")}'`;
    super(`Could not connect to ${address}: ${reason}. ${hint}`, options);
    this.name = "ConnectError";
    this.address = address;
    this.failure = failure;
    this.reason = reason;
  }
}

function _connectReason(failure: ConnectFailure, detail: string): string {
  switch (failure) {
    case "refused":
      return "connection refused";
    case "timeout":
      return `no answer within ${detail || CONNECT_TIMEOUT_MS / 1000} s`;
    case "unknown_host":
      return "unknown host";
    case "unreachable":
      return "the network or host is unreachable";
    case "other":
      return detail.replace(/\s*\(os error \d+\)$/, "").replace(/\.$/, "");
  }
}

/**
 * Tells what went wrong from an error thrown by `Deno.connect`.
 *
 * @param error the caught value
 * @returns the kind of failure
 */
export function classifyConnectError(error: unknown): ConnectFailure {
  if (error instanceof Deno.errors.ConnectionRefused) return "refused";
  if (error instanceof Deno.errors.TimedOut) return "timeout";
  const message = error instanceof Error ? error.message : String(error);
  if (
    error instanceof Deno.errors.NotFound || /lookup address|not known|no address|resolve/i
      .test(message)
  ) {
    return "unknown_host";
  }
  if (/unreachable/i.test(message)) return "unreachable";
  return "other";
}

async function _denoDial(host: string, port: number): Promise<Transport> {
  const conn = await Deno.connect({ hostname: host, port });
  try {
    conn.setNoDelay(true);
    conn.setKeepAlive(true);
  } catch {
    // Not every platform allows these; the connection works without them.
  }
  return conn;
}

/** Options of {@linkcode openConnection}. */
export interface OpenOptions {
  /** Give up after this many milliseconds (default {@linkcode CONNECT_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** Opens the transport (default: TCP with `Deno.connect`). */
  readonly dial?: Dialer;
}

/**
 * Connects to a chat server.
 *
 * @param host the host name or IP address (IPv6 without brackets)
 * @param port the TCP port
 * @param options the timeout and the dialer
 * @returns the open connection
 * @throws {ConnectError} when the connection cannot be made, with a sentence for a person
 */
export async function openConnection(
  host: string,
  port: number,
  options: OpenOptions = {},
): Promise<ChatConnection> {
  const address = formatAddress(host, port);
  const dial = options.dial ?? _denoDial;
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = dial(host, port);
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const result = await Promise.race([attempt, timeout]);
    if (result === "timeout") {
      // Close the connection if it is made after all.
      attempt.then((late) => _quietClose(late), () => {});
      throw new ConnectError(address, "timeout", String(timeoutMs / 1000));
    }
    return new ChatConnection(result, address);
  } catch (error) {
    if (error instanceof ConnectError) throw error;
    const failure = classifyConnectError(error);
    const detail = error instanceof Error ? error.message : String(error);
    throw new ConnectError(address, failure, detail, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

function _quietClose(transport: Transport): void {
  try {
    transport.close();
  } catch {
    // Already closed.
  }
}

/**
 * A connection to a server speaking frame64 JSON.
 *
 * Sending never blocks: frames go through the transport's write queue in order, and a write
 * failure closes the connection. Receiving is {@linkcode ChatConnection.batches}, which ends
 * when the connection closes for any reason (see {@linkcode ChatConnection.closeReason}).
 *
 * @example Talk to a server over an in-memory transport
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatConnection } from "./connection.ts";
 * import { encodeTextFrame } from "../protocol/frame64.ts";
 * const sent: Uint8Array[] = [];
 * const connection = new ChatConnection({
 *   readable: ReadableStream.from([encodeTextFrame('{"type":"who","users":["bob"]}')]),
 *   writable: new WritableStream({ write: (chunk) => void sent.push(chunk) }),
 *   close: () => {},
 * });
 * connection.send({ type: "who" });
 * for await (const batch of connection.batches()) assert.ok(batch[0]?.type === "who");
 * connection.close();
 * ```
 */
export class ChatConnection {
  #transport: Transport;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #closed = false;
  #closeReason = "";
  #lastReceived = Date.now();
  #lastWrite: Promise<void> = Promise.resolve();
  #address: string;
  /** The first bytes the server sent, kept until a frame parses, to name a wrong service. */
  #firstBytes: Uint8Array | null = new Uint8Array(0);
  #notChatServer = false;

  /**
   * Wraps an open transport.
   *
   * @param transport the open byte streams
   * @param address the server's address as a person typed it, for messages
   */
  constructor(transport: Transport, address = "the server") {
    this.#transport = transport;
    this.#address = address;
    this.#writer = transport.writable.getWriter();
    // A failed write surfaces here; the read side then ends too.
    this.#writer.closed.catch((error) => this.#end(_describe(error, "write failed")));
  }

  /** True once the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the connection ended, in a few words; empty while it is open. */
  get closeReason(): string {
    return this.#closeReason;
  }

  /**
   * True when the connection ended because the other side does not speak the chat protocol
   * (say an SSH or HTTP server): its first bytes were not a frame. Trying again will not help.
   */
  get notChatServer(): boolean {
    return this.#notChatServer;
  }

  /** When the last bytes arrived from the server, as `Date.now()`. */
  get lastReceived(): number {
    return this.#lastReceived;
  }

  /**
   * Queues one event for the server.
   *
   * @param event the event
   * @returns false if the connection is already closed (nothing is sent)
   */
  send(event: ClientEvent): boolean {
    return this.sendRaw(JSON.stringify(event));
  }

  /**
   * Queues one JSON body for the server, as it is.
   *
   * @param json the body
   * @returns false if the connection is already closed
   */
  sendRaw(json: string): boolean {
    if (this.#closed) return false;
    this.#lastWrite = this.#writer.write(encodeTextFrame(json)).catch((error) =>
      this.#end(_describe(error, "write failed"))
    );
    return true;
  }

  /**
   * Waits until everything queued so far has been handed to the transport (or has failed).
   *
   * @param timeoutMs wait no longer than this
   */
  async drain(timeoutMs = 1000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#lastWrite,
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  /**
   * Reads the server's events, in batches: each batch holds the events completed by one read.
   * Bodies that are not events this client knows are skipped. Ends when the connection closes;
   * a framing error from the server closes it.
   *
   * @returns the batches, in order
   */
  async *batches(): AsyncGenerator<ServerEvent[], void, undefined> {
    let reader: ReadableStreamDefaultReader<Uint8Array[]>;
    try {
      // Each read of the decoder is the bodies one read of the socket completed. The bytes are
      // looked at on the way in: when they are the time of the last sign of life, and, until
      // the first event, what to quote if they turn out not to be a chat server at all.
      reader = this.#transport.readable
        .pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform: (chunk, controller) => {
              this.#lastReceived = Date.now();
              this.#keepFirstBytes(chunk);
              controller.enqueue(chunk);
            },
          }),
        )
        .pipeThrough(new Frame64DecoderStream({ maxBodyBytes: MAX_INCOMING_BODY_BYTES }))
        .getReader();
    } catch (error) {
      this.#end(_describe(error, "read failed"));
      return;
    }
    try {
      while (!this.#closed) {
        let result: ReadableStreamReadResult<Uint8Array[]>;
        try {
          result = await reader.read();
        } catch (error) {
          if (!(error instanceof FramingError)) {
            this.#end(_describe(error, "read failed"));
          } else if (this.#firstBytes !== null) {
            // Nothing the server sent ever made sense: it is another service, so say which
            // instead of quoting the framing rules at the user.
            this.#notChatServer = true;
            this.#end(
              `${this.#address} is not a chat server (it sent ${_preview(this.#firstBytes)})`,
            );
          } else {
            this.#end(_describe(error, "bad data from the server"));
          }
          return;
        }
        if (result.done) {
          this.#end("the server closed the connection");
          return;
        }
        const batch: ServerEvent[] = [];
        for (const body of result.value) {
          const event = decodeServerEvent(body);
          if (event !== null) batch.push(event);
        }
        if (batch.length > 0) {
          this.#firstBytes = null;
          yield batch;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
      this.close();
    }
  }

  #keepFirstBytes(chunk: Uint8Array): void {
    const kept = this.#firstBytes;
    if (kept === null || kept.length >= _PREVIEW_BYTES) return;
    const more = chunk.subarray(0, _PREVIEW_BYTES - kept.length);
    const joined = new Uint8Array(kept.length + more.length);
    joined.set(kept);
    joined.set(more, kept.length);
    this.#firstBytes = joined;
  }

  /**
   * Closes the connection. Safe to call more than once.
   *
   * @param reason why, in a few words (kept if it is the first reason)
   */
  close(reason = "closed by the client"): void {
    this.#end(reason);
  }

  #end(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#writer.releaseLock();
    _quietClose(this.#transport);
  }
}

/** How many of a wrong service's first bytes are kept to show. */
const _PREVIEW_BYTES = 64;
/** How many characters of them are shown. */
const _PREVIEW_CHARS = 40;

/** The first line of what a wrong service sent, quoted and made safe for a terminal. */
function _preview(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  const line = sanitizeLine(text.split(/[\r\n]/)[0] ?? "");
  const chars = [...line];
  const shown = chars.length > _PREVIEW_CHARS
    ? chars.slice(0, _PREVIEW_CHARS).join("") + "…"
    : line;
  return JSON.stringify(shown);
}

function _describe(error: unknown, fallback: string): string {
  if (error instanceof Error && error.message !== "") {
    return error.message.replace(/\s*\(os error \d+\)$/, "").replace(/\.$/, "");
  }
  return fallback;
}
