/**
 * The connection: one socket's read loop and read buffers, its send queue, and its one close
 * (drain, FIN, linger, release). It knows nothing of framing or chat: bytes read go to a
 * handler, bytes to send come from the session.
 *
 * @module
 */

import { Outbox, type OutboxFailure, type OutboxOptions } from "./outbox.ts";
import { SlabPool } from "./slab_pool.ts";

/** How long a connection that is being closed may take to receive its last frames. */
export const CLOSE_FLUSH_MS = 2000;
/** While closing, how long a peer may stay quiet before the socket is closed without its EOF. */
const LINGER_QUIET_MS = 200;
/** The read buffer an idle connection waits with (see {@linkcode nextReadBuffer}). */
export const SMALL_READ_BYTES = 128;
/** The read buffer after a small one filled up. */
export const MEDIUM_READ_BYTES = 4 * 1024;
/** The read buffer of a busy sender. */
export const LARGE_READ_BYTES = 64 * 1024;
/** Where small read buffers come from: slots of shared 128 KiB slabs (see `slab_pool.ts`). */
const SMALL_READ_BUFFERS = new SlabPool(SMALL_READ_BYTES, 1024);
/**
 * What {@linkcode Connection.heardAt} is kept relative to. Milliseconds since then fit a small
 * integer (for 24 days), which V8 keeps in the field itself; a `Date.now()` there is a 16-byte
 * heap number of its own in every connection.
 */
const HEARD_AT_ORIGIN = Date.now();

/**
 * A time as milliseconds after {@linkcode HEARD_AT_ORIGIN}. `Math.trunc` (of a whole number) makes
 * V8 hand back a small integer: a bare subtraction in code not yet optimised gives a heap number.
 */
function sinceHeardAtOrigin(time: number): number {
  return Math.trunc(time - HEARD_AT_ORIGIN);
}

/** The socket operations a connection uses; `Deno.Conn` has them all. */
export interface ConnectionSocket {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  /** Ends the sending side only (TCP FIN), so the last frames arrive before the close. */
  closeWrite?(): Promise<void>;
}

/** What the owner of a connection hears from it. */
export interface ConnectionHandler {
  /** Bytes read, while the connection is not closing. The buffer is reused afterwards. */
  onBytes(bytes: Uint8Array): void;
  /** The peer closed its side (EOF) while the connection was open. */
  onEnd(): void;
  /** A read failed while the connection was open. */
  onReadError(error: unknown): void;
  /** The send queue overflowed or a write failed. */
  onSendFailure(failure: OutboxFailure): void;
}

/**
 * One socket: read loop, send queue, close. It is its outbox's options (the queue bound and
 * where failures go), so an idle connection costs no object or closure for them.
 */
export class Connection implements OutboxOptions {
  /** How many bytes may wait to be sent before the peer counts as slow. */
  readonly maxQueuedBytes: number;
  readonly #socket: ConnectionSocket;
  /**
   * The send queue, made on the first send and let go at the sweep while it holds nothing (see
   * {@linkcode Connection.compact}): an idle connection then carries none (~150 bytes).
   */
  #outbox: Outbox | null = null;
  readonly #handler: ConnectionHandler;
  #closing = false;
  /** When bytes last arrived, in milliseconds after {@linkcode HEARD_AT_ORIGIN}. */
  #heardAt: number;
  /** Called when the read loop has ended (the peer closed, or the socket failed). */
  #onInputEnded: (() => void)[] | null = null;
  #inputDone = false;
  /** The buffer the pending read fills. */
  #buffer: Uint8Array<ArrayBuffer> | null = null;

  /**
   * @param socket the socket
   * @param sendQueueBytes how many bytes may wait to be sent before the peer counts as slow
   * @param now the current time in milliseconds
   * @param handler where the bytes read, the end and send failures go
   */
  constructor(
    socket: ConnectionSocket,
    sendQueueBytes: number,
    now: number,
    handler: ConnectionHandler,
  ) {
    this.#socket = socket;
    this.#handler = handler;
    this.#heardAt = sinceHeardAtOrigin(now);
    this.maxQueuedBytes = sendQueueBytes;
  }

  /** The send queue overflowed or a write failed (called by the outbox, on a later turn). */
  onFailure(failure: OutboxFailure): void {
    this.#handler.onSendFailure(failure);
  }

  /**
   * Lets go of the send queue while it holds nothing, or gives back its array while nothing
   * waits in it (see `Outbox.compact`). The server calls it from its sweep.
   */
  compact(): void {
    const outbox = this.#outbox;
    if (outbox === null || this.#closing) return;
    if (outbox.disposable) this.#outbox = null;
    else outbox.compact();
  }

  /** When bytes last arrived (in milliseconds), closing or not. */
  get heardAt(): number {
    return HEARD_AT_ORIGIN + this.#heardAt;
  }

  /** True once {@linkcode Connection.close} has been called. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * How long the oldest pending write has made no progress.
   *
   * @param now the current time in milliseconds
   */
  stalledFor(now: number): number {
    return this.#outbox?.stalledFor(now) ?? 0;
  }

  /**
   * From now on, sends each queued buffer in a write of its own, at least `gapMs` apart (a raw
   * client splits what one read brings on `~`).
   *
   * @param gapMs the pause between writes
   */
  separateWrites(gapMs: number): void {
    this.#sendQueue().separateWrites(gapMs);
  }

  /**
   * Queues bytes to send.
   *
   * @param bytes the bytes; they must not change afterwards
   */
  send(bytes: Uint8Array): void {
    // A connection that began closing without a send queue has nothing left to send, and takes
    // nothing more (as a closed queue would refuse it).
    if (this.#outbox === null && this.#closing) return;
    this.#sendQueue().enqueue(bytes);
  }

  #sendQueue(): Outbox {
    return this.#outbox ??= new Outbox(this.#socket, this);
  }

  /**
   * Starts reading until the connection ends; {@linkcode Connection.ended} tells when it has.
   *
   * The loop is a chain of `then`, not an `async` function: a connection waits in its read for
   * most of its life, and an async function's suspended frame (generator, registers, the closures
   * of its await) was ~0.3 KB of every idle member more than one callback and one reaction.
   */
  run(): void {
    this.#buffer = SMALL_READ_BUFFERS.take();
    this.#read();
  }

  /** Resolves when the read loop has ended (the peer closed, or the socket failed). */
  ended(): Promise<void> {
    if (this.#inputDone) return Promise.resolve();
    return new Promise((resolve) => (this.#onInputEnded ??= []).push(resolve));
  }

  #read(): void {
    this.#socket.read(this.#buffer!).then(this.#onRead, this.#onRead);
  }

  /**
   * The callback of every read: {@linkcode Connection.#readDone} bound to this connection. A
   * bound function is one object of ~48 bytes; an arrow function in a field was two (the closure
   * and the context that holds `this`, ~96).
   */
  readonly #onRead: (result: unknown) => void = this.#readDone.bind(this);

  /** What one read gave: a count, null at the end of the input, or the error it failed with. */
  #readDone(result: unknown): void {
    const handler = this.#handler;
    try {
      if (typeof result === "number") {
        this.#heardAt = sinceHeardAtOrigin(Date.now());
        // Once closing, input is read and dropped until the peer closes too (see close).
        if (!this.#closing) {
          const buffer = this.#buffer!;
          handler.onBytes(buffer.subarray(0, result));
          this.#buffer = nextReadBuffer(buffer, result, SMALL_READ_BUFFERS);
        }
        return this.#read();
      }
      if (!this.#closing) {
        if (result === null) handler.onEnd();
        else handler.onReadError(result);
      }
    } catch (error) {
      if (!this.#closing) handler.onReadError(error);
    }
    this.#endInput();
  }

  /** The read loop is over: its buffer goes back, and whoever waits for the end hears. */
  #endInput(): void {
    if (this.#inputDone) return;
    SMALL_READ_BUFFERS.give(this.#buffer!);
    this.#buffer = null;
    this.#inputDone = true;
    const waiters = this.#onInputEnded;
    this.#onInputEnded = null;
    if (waiters !== null) { for (const resolve of waiters) resolve(); }
  }

  /**
   * Closes once: lets the send queue drain for up to {@linkcode CLOSE_FLUSH_MS}, sends FIN,
   * drops input until the peer closes too or goes quiet, and releases the socket. Closing a
   * socket with unread input resets the connection, which would destroy the frames still on
   * their way (a `shutdown` to a client that is still sending).
   *
   * @returns resolves when the socket is released; a second call resolves at once
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const deadline = Date.now() + CLOSE_FLUSH_MS;
    // Kept from here on (compact lets it be): what is sent meanwhile joins what drains.
    const outbox = this.#outbox;
    if (outbox?.busy) await until(outbox.drained(), CLOSE_FLUSH_MS);
    const drained = !(outbox?.busy ?? false);
    outbox?.close();
    if (drained && !this.#inputDone && this.#socket.closeWrite !== undefined) {
      try {
        // Bounded: over TLS, a peer that stalled mid-handshake would hold it forever.
        const closing = this.#socket.closeWrite();
        closing.catch(() => {});
        await until(closing, deadline - Date.now());
        this.#heardAt = sinceHeardAtOrigin(Date.now());
        const inputEnded = this.ended();
        while (!this.#inputDone) {
          const now = Date.now();
          const wait = Math.min(deadline - now, this.heardAt + LINGER_QUIET_MS - now);
          if (wait <= 0) break;
          await until(inputEnded, wait);
        }
      } catch {
        // The peer is gone already.
      }
    }
    try {
      this.#socket.close();
    } catch {
      // Already closed by the peer or by an error.
    }
  }
}

/** Waits for a promise, or at most `ms` milliseconds. */
async function until(promise: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}

/**
 * The buffer for a connection's next read. Every connection waits in a read holding its buffer,
 * so an idle one waits with a small one (a hello or a pong fits in it). A read that fills its
 * buffer moves up one size, so a busy sender soon reads 64 KiB at a time; a read that would have
 * fitted in the small one moves straight back down, so a connection that goes quiet after a burst
 * does not wait with a large buffer.
 *
 * @param buffer the buffer of the last read; a small one goes back to `small` when replaced
 * @param count how many bytes that read returned
 * @param small where small buffers come from
 * @returns `buffer` itself, or a buffer of another size
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LARGE_READ_BYTES, nextReadBuffer, SMALL_READ_BYTES } from "./connection.ts";
 * import { SlabPool } from "./slab_pool.ts";
 * const pool = new SlabPool(SMALL_READ_BYTES, 4);
 * const small = pool.take();
 * assert.ok(nextReadBuffer(small, 40, pool) === small);
 * assert.ok(nextReadBuffer(new Uint8Array(LARGE_READ_BYTES), 40, pool).length === SMALL_READ_BYTES);
 * ```
 */
export function nextReadBuffer(
  buffer: Uint8Array<ArrayBuffer>,
  count: number,
  small: SlabPool,
): Uint8Array<ArrayBuffer> {
  if (count === buffer.length && buffer.length < LARGE_READ_BYTES) {
    if (buffer.length === SMALL_READ_BYTES) {
      small.give(buffer);
      return new Uint8Array(MEDIUM_READ_BYTES);
    }
    return new Uint8Array(LARGE_READ_BYTES);
  }
  if (count <= SMALL_READ_BYTES && buffer.length > SMALL_READ_BYTES) return small.take();
  return buffer;
}
