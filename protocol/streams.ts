/**
 * Web Streams transformers for the framings, shared by server and client: frame64 decoding and
 * encoding, and line decoding. Each wraps the push parser of its framing.
 *
 * @module
 */

import { encodeFrame, encodeTextFrame } from "./frame64.ts";
import { Frame64Parser } from "./frame64_parser.ts";
import { LineParser } from "./line_parser.ts";

/** Options of a {@linkcode Frame64DecoderStream}. */
export interface Frame64DecoderOptions {
  /** The largest body accepted, in bytes. */
  readonly maxBodyBytes: number;
}

/**
 * Turns frame64 bytes into bodies. Keepalive frames are skipped; a malformed header or an
 * oversized length errors the stream with a `FramingError`. Each body is its own buffer.
 *
 * @example Decode frames from split chunks
 * ```ts
 * import assert from "node:assert/strict";
 * import { Frame64DecoderStream } from "./streams.ts";
 * import { encodeFrame } from "./frame64.ts";
 * const frame = encodeFrame(new TextEncoder().encode("hi"));
 * const bodies = await Array.fromAsync(
 *   ReadableStream.from([frame.subarray(0, 10), frame.subarray(10)])
 *     .pipeThrough(new Frame64DecoderStream({ maxBodyBytes: 4096 })),
 * );
 * assert.ok(new TextDecoder().decode(bodies[0]) === "hi");
 * ```
 */
export class Frame64DecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** @param options the body size cap */
  constructor(options: Frame64DecoderOptions) {
    let parser: Frame64Parser;
    super({
      start(controller) {
        parser = new Frame64Parser((body) => controller.enqueue(body.slice()), options);
      },
      transform(chunk) {
        parser.push(chunk);
      },
      flush() {
        // A frame cut short by the end of input is simply incomplete; nothing to deliver.
      },
    });
  }
}

/**
 * Turns bodies (bytes, or strings sent as UTF-8) into frame64 frames.
 *
 * @example Encode a string body
 * ```ts
 * import assert from "node:assert/strict";
 * import { Frame64EncoderStream } from "./streams.ts";
 * const frames = await Array.fromAsync(
 *   ReadableStream.from(["hi"]).pipeThrough(new Frame64EncoderStream()),
 * );
 * assert.ok(frames[0]!.length === 66);
 * ```
 */
export class Frame64EncoderStream extends TransformStream<Uint8Array | string, Uint8Array> {
  constructor() {
    super({
      transform(body, controller) {
        controller.enqueue(typeof body === "string" ? encodeTextFrame(body) : encodeFrame(body));
      },
    });
  }
}

/** Options of a {@linkcode LineDecoderStream}. */
export interface LineDecoderOptions {
  /** The longest line accepted, in bytes. */
  readonly maxLineBytes: number;
}

/**
 * Turns bytes into lines (as bytes, without the LF and without a CR before it). A last line
 * without an ending is delivered at the end of input; a line over the cap errors the stream with
 * a `FramingError` of code `too_large`.
 *
 * @example Split lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineDecoderStream } from "./streams.ts";
 * const lines = await Array.fromAsync(
 *   ReadableStream.from([new TextEncoder().encode("a\r\nb")])
 *     .pipeThrough(new LineDecoderStream({ maxLineBytes: 80 })),
 * );
 * assert.ok(lines.length === 2);
 * ```
 */
export class LineDecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** @param options the line length cap */
  constructor(options: LineDecoderOptions) {
    let parser: LineParser;
    super({
      start(controller) {
        parser = new LineParser((line) => controller.enqueue(line.slice()), options);
      },
      transform(chunk) {
        parser.push(chunk);
      },
      flush() {
        parser.flush();
      },
    });
  }
}
