/**
 * The bounded send queue of one connection: frames queued while a write is under way are
 * coalesced into the next single write, and a reader that falls too far behind is reported.
 *
 * @module
 */

import { joinBytes } from "./outgoing.ts";

/** Queued frames are joined into writes of at most this size. */
const MAX_WRITE_BYTES = 64 * 1024;
/**
 * A queued buffer at least this large is written on its own rather than copied into a joined
 * write: it is usually shared by many members (one flush of a busy room), and a copy per member
 * of such buffers is what made the memory of a join storm grow with the number of members.
 */
const OWN_WRITE_BYTES = 4 * 1024;
/** A drained queue array longer than this is dropped rather than kept for reuse. */
const KEEP_QUEUE_SLOTS = 16;
/** Taken slots at the front of a queue that is not drained before it is moved down. */
const COMPACT_AFTER_SLOTS = 1024;
const EMPTY = new Uint8Array(0);

/** The one operation an {@linkcode Outbox} needs from a socket. */
export interface ByteWriter {
  /** Writes some of `bytes`, resolving to how many were written (as `Deno.Conn.write` does). */
  write(bytes: Uint8Array): Promise<number>;
}

/** Why an {@linkcode Outbox} gave up on its peer. */
export type OutboxFailure = "overflow" | "write_error";

/**
 * Options of an {@linkcode Outbox}. The outbox keeps the object and calls `onFailure` on it, so
 * an owner may pass itself (a connection does: one object and one closure fewer per idle
 * connection).
 */
export interface OutboxOptions {
  /** Most bytes queued (not yet handed to a write) before the peer is reported as too slow. */
  readonly maxQueuedBytes: number;
  /** Called once, when the queue overflows or a write fails; never called synchronously twice. */
  readonly onFailure: (failure: OutboxFailure, error?: unknown) => void;
  /** A clock in milliseconds, for write progress tracking. */
  readonly now?: () => number;
}

/**
 * Queues bytes for one peer and writes them in as few writes as possible: while one write is
 * under way, everything queued meanwhile is joined into the next write. Shared buffers (one
 * broadcast frame sent to many peers) are queued by reference and never copied unless several
 * must be joined. At most one write is under way at a time.
 *
 * @example Queue two frames; they reach the writer in order
 * ```ts
 * import assert from "node:assert/strict";
 * import { Outbox } from "./outbox.ts";
 * const written: number[] = [];
 * const outbox = new Outbox({ write: async (b) => (written.push(...b), b.length) }, {
 *   maxQueuedBytes: 1024,
 *   onFailure: () => {},
 * });
 * outbox.enqueue(new Uint8Array([1, 2]));
 * outbox.enqueue(new Uint8Array([3]));
 * await outbox.drained();
 * assert.ok(written.join() === "1,2,3");
 * ```
 */
export class Outbox {
  #writer: ByteWriter;
  #options: OutboxOptions;
  #now: () => number;
  /**
   * The queued buffers are `#queue[#head]` to `#queue[#tail - 1]`. Taking from the front moves
   * `#head` instead of shifting the array: a lagging member's queue of hundreds of shared
   * buffers was copied on every write, which made most of a join storm's garbage. Made on the
   * first enqueue and given back by {@linkcode Outbox.compact} while idle.
   */
  #queue: Uint8Array[] | null = null;
  #head = 0;
  #tail = 0;
  #queuedBytes = 0;
  #writing = false;
  #failed = false;
  #closed = false;
  /** When the write under way started or last made progress, or 0 when none is under way. */
  #progressAt = 0;
  /** Made when someone waits (a closing connection): an idle one needs none. */
  #drainWaiters: (() => void)[] | null = null;
  /** Above 0: every queued buffer is its own write, this many milliseconds after the last. */
  #gapMs = 0;
  /** What the write under way still has to write. */
  #inFlight: Uint8Array | null = null;

  /**
   * @param writer the socket
   * @param options the queue bound and the failure callback
   */
  constructor(writer: ByteWriter, options: OutboxOptions) {
    this.#writer = writer;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Bytes queued and not yet handed to a write. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** True while a write is under way or bytes are queued. */
  get busy(): boolean {
    return this.#writing || this.#head < this.#tail;
  }

  /**
   * How long the write under way has gone without progress, in milliseconds (0 when idle).
   *
   * @param now the current time from the same clock
   */
  stalledFor(now: number): number {
    return this.#writing ? now - this.#progressAt : 0;
  }

  /**
   * Stops joining queued buffers: from now on each one is written on its own, at least `gapMs`
   * after the previous write, so a peer that reads with one `recv` per message (a raw client)
   * is likely to get each message alone. The queue bound still applies.
   *
   * @param gapMs the pause after each write, in milliseconds
   */
  separateWrites(gapMs: number): void {
    this.#gapMs = gapMs;
  }

  /**
   * Queues bytes to send. The buffer must not be changed afterwards (it may be shared).
   *
   * @param bytes the bytes, often a shared broadcast frame
   * @returns false when the queue overflowed (the failure callback runs soon after) or the
   * outbox was closed
   */
  enqueue(bytes: Uint8Array): boolean {
    if (this.#failed || this.#closed) return false;
    if (bytes.length === 0) return true;
    this.#queuedBytes += bytes.length;
    if (this.#queuedBytes > this.#options.maxQueuedBytes) {
      this.#fail("overflow");
      return false;
    }
    if (!this.#writing && this.#head === this.#tail) {
      // Nothing under way and nothing queued (a member's usual state): written now, unqueued.
      this.#queuedBytes -= bytes.length;
      this.#startWrite(bytes);
      return true;
    }
    (this.#queue ??= [])[this.#tail++] = bytes;
    if (!this.#writing) this.#writeNext();
    return true;
  }

  /** Resolves once everything queued has been written, or the outbox failed or closed. */
  drained(): Promise<void> {
    if (!this.busy || this.#failed) return Promise.resolve();
    return new Promise((resolve) => (this.#drainWaiters ??= []).push(resolve));
  }

  /**
   * Gives back the queue's array while nothing is queued. An idle connection then holds no
   * array (one that took a burst, its welcome, kept ~180 bytes), and a busy one makes a new
   * array at most once per call; the server calls it from its periodic sweep.
   */
  compact(): void {
    if (this.#head === this.#tail) this.#queue = null;
  }

  /**
   * True when the outbox holds nothing a new one would not: nothing queued or being written, no
   * failure, not closed, no one waiting for the drain, and writes joined. Its owner may then let it
   * go and make a new one on the next send.
   */
  get disposable(): boolean {
    return !this.busy && !this.#failed && !this.#closed && this.#drainWaiters === null &&
      this.#gapMs === 0;
  }

  /** Drops whatever is queued and refuses more; a write under way is left to finish or fail. */
  close(): void {
    this.#closed = true;
    this.#clearQueue();
    this.#settleDrained();
  }

  // The writes are a chain of callbacks rather than an async loop: a write is the hottest thing
  // the server does (one per member per tick), and an async function's frame, promise and awaits
  // cost more than one reaction per write.

  /** Writes the next queued buffer, or ends the writing when nothing is left (or it failed). */
  #writeNext(): void {
    if (this.#head < this.#tail && !this.#failed) {
      this.#startWrite(this.#takeNext());
      return;
    }
    this.#writing = false;
    this.#progressAt = 0;
    this.#settleDrained();
  }

  #startWrite(data: Uint8Array): void {
    this.#writing = true;
    this.#inFlight = data;
    this.#progressAt = this.#now();
    this.#write(data);
  }

  #write(data: Uint8Array): void {
    let written: Promise<number>;
    try {
      written = this.#writer.write(data);
    } catch (error) {
      this.#onWriteError(error);
      return;
    }
    // Closures made per write, not kept per outbox: a member that is not writing keeps none.
    written.then((count) => this.#onWritten(count), (error) => this.#onWriteError(error));
  }

  #onWritten(count: number): void {
    const data = this.#inFlight!;
    if (count < data.length) {
      this.#progressAt = this.#now();
      this.#inFlight = data.subarray(count);
      this.#write(this.#inFlight);
      return;
    }
    this.#inFlight = null;
    if (this.#gapMs > 0 && !this.#closed) {
      this.#progressAt = this.#now();
      setTimeout(() => this.#afterGap(), this.#gapMs);
      return;
    }
    // No clock read here: the next write sets the time of its start, or none is under way.
    this.#writeNext();
  }

  #afterGap(): void {
    this.#progressAt = this.#now();
    this.#writeNext();
  }

  #onWriteError(error: unknown): void {
    this.#inFlight = null;
    if (!this.#closed) this.#fail("write_error", error);
    this.#writing = false;
    this.#progressAt = 0;
    this.#settleDrained();
  }

  /**
   * Takes what to write next: the small queued frames joined into one buffer, up to
   * {@linkcode MAX_WRITE_BYTES}; a buffer of {@linkcode OWN_WRITE_BYTES} or more is written as it
   * is, without a copy. So a member that fell behind catches up in a few large writes, and no
   * member copies an unbounded backlog, or large shared buffers, into a buffer of its own.
   */
  #takeNext(): Uint8Array {
    const queue = this.#queue!;
    const head = this.#head;
    let end = head + 1;
    let total = queue[head]!.length;
    while (
      this.#gapMs === 0 && end < this.#tail && total < OWN_WRITE_BYTES &&
      queue[end]!.length < OWN_WRITE_BYTES &&
      total + queue[end]!.length <= MAX_WRITE_BYTES
    ) {
      total += queue[end]!.length;
      end++;
    }
    this.#queuedBytes -= total;
    const data = end === head + 1 ? queue[head]! : joinBytes(queue.slice(head, end));
    for (let i = head; i < end; i++) queue[i] = EMPTY;
    this.#head = end;
    if (end === this.#tail) {
      this.#head = this.#tail = 0;
      if (queue.length > KEEP_QUEUE_SLOTS) this.#queue = null;
    } else if (end >= COMPACT_AFTER_SLOTS && end * 2 >= this.#tail) {
      // A queue that never drains is moved down now and then, so it does not grow without end.
      queue.copyWithin(0, end, this.#tail);
      queue.length = this.#tail - end;
      this.#tail -= end;
      this.#head = 0;
    }
    return data;
  }

  #clearQueue(): void {
    this.#queue = null;
    this.#head = this.#tail = 0;
    this.#queuedBytes = 0;
  }

  #fail(failure: OutboxFailure, error?: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#clearQueue();
    this.#settleDrained();
    // Reported on a later turn, so a caller iterating over many outboxes is never re-entered.
    queueMicrotask(() => this.#options.onFailure(failure, error));
  }

  #settleDrained(): void {
    if (this.busy && !this.#failed && !this.#closed) return;
    const waiters = this.#drainWaiters;
    if (waiters === null) return;
    this.#drainWaiters = null;
    for (const resolve of waiters) resolve();
  }
}
