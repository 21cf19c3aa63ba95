/**
 * The Web Streams side of frame64: a transformer that turns the bytes of a connection into
 * frame bodies, wrapping the push parser (`frame64_parser.ts`). The terminal client reads the
 * server through it. The server reads with the push parser directly, because the per-read cost
 * of a stream stage is paid once per connection read there (see `bench/README.md`, "Web Streams
 * on the server").
 *
 * @module
 */

import { Frame64Parser } from "./frame64_parser.ts";

/** Options of a {@linkcode Frame64DecoderStream}. */
export interface Frame64DecoderOptions {
  /** The largest body accepted, in bytes. */
  readonly maxBodyBytes: number;
}

/**
 * Turns frame64 bytes into bodies, handed on as one array per chunk read: the bodies that chunk
 * completed, so a reader can handle a burst at once (the client draws it in one terminal
 * write). A chunk that completes no frame hands on nothing. Keepalive frames are skipped; a
 * malformed header or an oversized length errors the stream with a `FramingError`. Each body is
 * its own buffer, so the chunk may be reused.
 *
 * @example Decode frames from split chunks
 * ```ts
 * import assert from "node:assert/strict";
 * import { Frame64DecoderStream } from "./streams.ts";
 * import { encodeFrame } from "./frame64.ts";
 * const frame = encodeFrame(new TextEncoder().encode("hi"));
 * const batches = await Array.fromAsync(
 *   ReadableStream.from([frame.subarray(0, 10), frame.subarray(10)])
 *     .pipeThrough(new Frame64DecoderStream({ maxBodyBytes: 4096 })),
 * );
 * assert.ok(batches.length === 1 && new TextDecoder().decode(batches[0]![0]) === "hi");
 * ```
 */
export class Frame64DecoderStream extends TransformStream<Uint8Array, Uint8Array[]> {
  /** @param options the body size cap */
  constructor(options: Frame64DecoderOptions) {
    let batch: Uint8Array[] = [];
    const parser = new Frame64Parser((body) => batch.push(body.slice()), options);
    super({
      transform(chunk, controller) {
        parser.push(chunk);
        if (batch.length > 0) {
          controller.enqueue(batch);
          batch = [];
        }
      },
      flush() {
        // A frame cut short by the end of input is simply incomplete; nothing to deliver.
      },
    });
  }
}
