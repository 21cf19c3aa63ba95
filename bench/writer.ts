/**
 * The load process's output side of one connection: frames are written straight into a
 * growing queue, and everything queued while a write is pending goes out in the next write.
 *
 * @module
 */

/** Where a {@linkcode CoalescingWriter} writes: a `Deno.Conn` or anything with its `write`. */
export interface ByteSink {
  /** Writes some of the bytes; resolves to how many were written. */
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Queues bytes for one sink and writes them with at most one write pending. Bytes queued in the
 * same turn of the event loop, or while a write is pending, go out together in one write.
 * Frames can be built in place: {@linkcode CoalescingWriter.reserve} returns an offset into
 * {@linkcode CoalescingWriter.buffer}, so sending allocates nothing once the queue has grown.
 *
 * @example Coalesce two appends into one write
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoalescingWriter } from "./writer.ts";
 * const writes: number[] = [];
 * const sink = { write: (bytes: Uint8Array) => Promise.resolve(writes.push(bytes.length) && bytes.length) };
 * const writer = new CoalescingWriter(sink, (error) => { throw error; });
 * writer.append(new Uint8Array(3));
 * writer.append(new Uint8Array(4));
 * await writer.idle();
 * assert.ok(writes.length === 1 && writes[0] === 7);
 * ```
 */
export class CoalescingWriter {
  #sink: ByteSink;
  #onError: (error: unknown) => void;
  #queue: Uint8Array;
  #queued = 0;
  #spare: Uint8Array;
  #inFlight = 0;
  #running = false;
  #closed = false;
  #idle: Promise<void> = Promise.resolve();

  /**
   * @param sink where the bytes go
   * @param onError called once with the error of a failed write; the writer is closed then
   * @param initialBytes the queue's starting capacity; it doubles as needed
   */
  constructor(sink: ByteSink, onError: (error: unknown) => void, initialBytes = 1024) {
    this.#sink = sink;
    this.#onError = onError;
    this.#queue = new Uint8Array(initialBytes);
    this.#spare = new Uint8Array(initialBytes);
  }

  /** The bytes queued or being written. */
  get queuedBytes(): number {
    return this.#queued + this.#inFlight;
  }

  /** True once closed, by {@linkcode CoalescingWriter.close} or a failed write. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The queue's buffer; valid for filling a {@linkcode CoalescingWriter.reserve}d range only. */
  get buffer(): Uint8Array {
    return this.#queue;
  }

  /**
   * Makes room for `length` more bytes at the end of the queue and schedules a write. Fill
   * `buffer[offset, offset + length)` before the next `await`.
   *
   * @param length how many bytes will be written
   * @returns the offset in {@linkcode CoalescingWriter.buffer} where they go
   */
  reserve(length: number): number {
    const needed = this.#queued + length;
    if (needed > this.#queue.length) {
      let capacity = this.#queue.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.#queue.subarray(0, this.#queued));
      this.#queue = grown;
    }
    const offset = this.#queued;
    this.#queued = needed;
    if (!this.#running && !this.#closed) {
      this.#running = true;
      this.#idle = this.#run();
    }
    return offset;
  }

  /**
   * Queues a copy of some bytes.
   *
   * @param bytes the bytes to send
   */
  append(bytes: Uint8Array): void {
    const offset = this.reserve(bytes.length);
    this.#queue.set(bytes, offset);
  }

  /**
   * Resolves once nothing is queued or being written (or the writer has closed).
   *
   * @returns a promise that never rejects
   */
  idle(): Promise<void> {
    return this.#idle;
  }

  /** Drops whatever is queued and stops writing; a pending write still completes. */
  close(): void {
    this.#closed = true;
    this.#queued = 0;
  }

  async #run(): Promise<void> {
    // Let the rest of this turn queue more bytes first.
    await Promise.resolve();
    try {
      while (this.#queued > 0 && !this.#closed) {
        const out = this.#queue;
        const length = this.#queued;
        this.#queue = this.#spare.length >= out.length ? this.#spare : new Uint8Array(out.length);
        this.#spare = out;
        this.#queued = 0;
        this.#inFlight = length;
        let written = 0;
        while (written < length) {
          written += await this.#sink.write(out.subarray(written, length));
          this.#inFlight = length - written;
        }
      }
    } catch (error) {
      if (!this.#closed) {
        this.close();
        this.#onError(error);
      }
    } finally {
      this.#inFlight = 0;
      this.#running = false;
    }
  }
}
