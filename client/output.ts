/**
 * An ordered, coalescing text writer: at most one write is in flight, and whatever is written
 * meanwhile is joined into the next one. So a burst of output costs a handful of system calls,
 * not one per line.
 *
 * @module
 */

/** Writes some bytes; returns how many were written (it may be fewer than given). */
export type ByteSink = (bytes: Uint8Array) => Promise<number>;

const _encoder = new TextEncoder();

/**
 * Queues text for a byte sink, keeping order and writing everything queued in one go once the
 * previous write is done. A failed write (a closed pipe) drops the rest silently: output that
 * nobody reads is not an error for a chat client.
 *
 * @example Collect output in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { OutputQueue } from "./output.ts";
 * const chunks: string[] = [];
 * const out = new OutputQueue((bytes) => {
 *   chunks.push(new TextDecoder().decode(bytes));
 *   return Promise.resolve(bytes.length);
 * });
 * out.write("a");
 * out.write("b");
 * await out.drain();
 * assert.ok(chunks.join("") === "ab");
 * ```
 */
export class OutputQueue {
  #sink: ByteSink;
  #queued = "";
  #pump: Promise<void> | null = null;
  #failed = false;
  #writes = 0;

  /**
   * Makes a queue in front of a sink.
   *
   * @param sink where the bytes go
   */
  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /** How many writes reached the sink so far (to check coalescing). */
  get writes(): number {
    return this.#writes;
  }

  /** True once a write failed; later text is dropped. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Queues text. Returns at once; the text is written after everything queued before it.
   *
   * @param text the text
   */
  write(text: string): void {
    if (this.#failed || text === "") return;
    this.#queued += text;
    this.#pump ??= this.#run();
  }

  /** Waits until everything queued so far has been written (or writing failed). */
  async drain(): Promise<void> {
    let pump = this.#pump;
    while (pump !== null) {
      await pump;
      if (this.#pump === pump) break;
      pump = this.#pump;
    }
  }

  async #run(): Promise<void> {
    try {
      while (this.#queued !== "" && !this.#failed) {
        const bytes = _encoder.encode(this.#queued);
        this.#queued = "";
        this.#writes++;
        let offset = 0;
        while (offset < bytes.length) offset += await this.#sink(bytes.subarray(offset));
      }
    } catch {
      this.#failed = true;
      this.#queued = "";
    } finally {
      this.#pump = null;
    }
  }
}

/**
 * A byte sink for a Deno writer such as `Deno.stdout`.
 *
 * @param writer anything with a `write` method
 * @returns the sink
 */
export function writerSink(writer: { write(bytes: Uint8Array): Promise<number> }): ByteSink {
  return (bytes) => writer.write(bytes);
}
