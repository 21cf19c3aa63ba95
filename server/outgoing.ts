/**
 * One server event, encoded at most once for each client style and then shared by every
 * recipient of that style.
 *
 * @module
 */

import { encodeTextFrame, HEADER_BYTES, writeHeader } from "../protocol/frame64.ts";
import type { ServerEvent } from "../protocol/events.ts";
import { rawNotice, renderRaw } from "../protocol/raw_render.ts";
import { renderTextLines } from "../protocol/text_render.ts";
import { encodeUtf8 } from "../protocol/utf8.ts";

/**
 * How a client is spoken to: JSON events in frame64 (`chat join`), plain text bodies in frame64
 * (classic socket-chat clients), plain lines (`nc`, `telnet`), or one bare `NAME~TEXT` string
 * per event (raw clients, which must get each event in a write of its own).
 */
export type ClientStyle = "json" | "plain" | "line" | "raw";

const EMPTY = new Uint8Array(0);

const encoder = new TextEncoder();
/**
 * The most bytes {@linkcode Outgoing.joinJson} encodes into its scratch buffer (a join that may
 * need more is made from each event's own frame): the scratch is kept, so it stays bounded.
 */
const JOIN_SCRATCH_MAX_BYTES = 1024 * 1024;
let joinScratch = new Uint8Array(64 * 1024);

/**
 * A server event with its wire encodings, each made on first use.
 *
 * @example Encode an event for a line client
 * ```ts
 * import assert from "node:assert/strict";
 * import { Outgoing } from "./outgoing.ts";
 * const out = new Outgoing({ type: "join", name: "bob", ts: "2026-01-01T00:00:00.000Z", online: 2 });
 * assert.ok(new TextDecoder().decode(out.bytesFor("line")).startsWith("* bob joined"));
 * ```
 */
export class Outgoing {
  /** The event. */
  readonly event: ServerEvent;
  #json: Uint8Array | undefined;
  /** The JSON text, while it is needed and its frame is not made yet. */
  #text: string | undefined;
  #plain: Uint8Array | undefined;
  #line: Uint8Array | undefined;
  #raw: Uint8Array | undefined;

  /** @param event the event to send */
  constructor(event: ServerEvent) {
    this.event = event;
  }

  /**
   * The JSON frames of several events, one after another in one new buffer: the bytes of their
   * {@linkcode Outgoing.bytesFor} frames, joined. An event whose frame was made already is
   * copied; the others are encoded straight into the buffer, without a frame of their own: a
   * frame is an `ArrayBuffer` of its own, and allocating one cost more than the rest of encoding
   * the event (a room's fan-out joins each tick's events for all its JSON members at once). The
   * JSON text is made once per event; an event in several joins (a large room served in slices)
   * is encoded again by each, which still costs less than a buffer of its own.
   *
   * @param outs the events, in order
   * @returns their JSON frames, joined
   */
  static joinJson(outs: readonly Outgoing[]): Uint8Array {
    if (outs.length === 1) return outs[0]!.bytesFor("json");
    let most = 0;
    for (const out of outs) {
      most += out.#json?.length ?? HEADER_BYTES + out.#jsonText().length * 3;
    }
    if (most > JOIN_SCRATCH_MAX_BYTES) return joinBytes(outs.map((out) => out.bytesFor("json")));
    if (joinScratch.length < most) joinScratch = new Uint8Array(most);
    const scratch = joinScratch;
    let offset = 0;
    for (const out of outs) {
      const frame = out.#json;
      if (frame !== undefined) {
        scratch.set(frame, offset);
        offset += frame.length;
        continue;
      }
      const body = offset + HEADER_BYTES;
      const { written } = encoder.encodeInto(out.#jsonText(), scratch.subarray(body));
      writeHeader(written, scratch, offset);
      offset = body + written;
    }
    return scratch.slice(0, offset);
  }

  /** The event as JSON, made once (and let go once its frame is made). */
  #jsonText(): string {
    return this.#text ??= JSON.stringify(this.event);
  }

  /**
   * The bytes that carry this event to a client of the given style (empty when that style does
   * not see this event, as text clients never see keepalives).
   *
   * @param style the recipient's style
   * @returns shared bytes; callers must not change them
   */
  bytesFor(style: ClientStyle): Uint8Array {
    switch (style) {
      case "json":
        if (this.#json === undefined) {
          this.#json = encodeTextFrame(this.#text ?? JSON.stringify(this.event));
          this.#text = undefined;
        }
        return this.#json;
      case "plain":
        return this.#plain ??= encodePlain(renderTextLines(this.event));
      case "line":
        return this.#line ??= encodeLines(renderTextLines(this.event));
      case "raw":
        return this.#raw ??= encodeRaw(renderRaw(this.event));
    }
  }
}

/**
 * Encodes text lines as plain frame64 bodies, one frame a line.
 *
 * @param lines the lines, without line endings
 * @returns the frames, joined
 */
export function encodePlain(lines: readonly string[]): Uint8Array {
  if (lines.length === 0) return EMPTY;
  if (lines.length === 1) return encodeTextFrame(lines[0]!);
  return joinBytes(lines.map(encodeTextFrame));
}

/**
 * Joins byte arrays into one; a single one is returned as it is, without a copy.
 *
 * @param parts the arrays, in order
 * @returns their bytes, one after another
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinBytes } from "./outgoing.ts";
 * assert.deepEqual(joinBytes([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const part of parts) total += part.length;
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/**
 * Encodes text lines for a line client, each ended by LF.
 *
 * @param lines the lines, without line endings
 * @returns the UTF-8 bytes
 */
export function encodeLines(lines: readonly string[]): Uint8Array {
  return lines.length === 0 ? EMPTY : encodeUtf8(lines.join("\n") + "\n");
}

/**
 * Encodes one raw client string (see `protocol/raw_render.ts`) as UTF-8.
 *
 * @param text the string, or null for nothing
 * @returns the bytes (empty for null)
 */
export function encodeRaw(text: string | null): Uint8Array {
  return text === null ? EMPTY : encodeUtf8(text);
}

/**
 * Encodes informational lines (as a line client would see them) for a client of any text
 * style: one frame per line, LF-ended lines, or one `SERVER~...` notice.
 *
 * @param lines the lines, without line endings
 * @param style the recipient's style (`json` gets nothing: it has events for everything)
 * @returns the bytes
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeInfo } from "./outgoing.ts";
 * assert.equal(new TextDecoder().decode(encodeInfo(["* hi", "* there"], "raw")), "SERVER~hi\nthere");
 * ```
 */
export function encodeInfo(lines: readonly string[], style: ClientStyle): Uint8Array {
  switch (style) {
    case "json":
      return EMPTY;
    case "plain":
      return encodePlain(lines);
    case "line":
      return encodeLines(lines);
    case "raw":
      return encodeRaw(rawNotice(lines));
  }
}

/**
 * Encodes an event for one recipient, without sharing.
 *
 * @param event the event
 * @param style the recipient's style
 * @param viewerName the recipient's name, so a text client sees its own private message as a
 *   confirmation (`[dm to bob] ...`) rather than as one sent to it
 * @returns the bytes
 */
export function encodeFor(event: ServerEvent, style: ClientStyle, viewerName?: string): Uint8Array {
  if (style === "json" || viewerName === undefined) return new Outgoing(event).bytesFor(style);
  if (style === "raw") return encodeRaw(renderRaw(event, viewerName));
  return encodeInfo(renderTextLines(event, viewerName), style);
}
