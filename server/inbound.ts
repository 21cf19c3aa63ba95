/**
 * The inbound side of a connection: it detects the framing from the first bytes, runs the
 * frame64 parser or the text input (line and raw clients, telnet), tells JSON from plain bodies,
 * and turns whatever arrives (a JSON event, a line typed by a person, a raw burst) into one
 * {@linkcode Inbound} value for the session. It knows nothing of sockets or of the chat.
 *
 * @module
 */

import { commandOfEvent, type ParsedCommand, parseTextInput } from "../core/commands.ts";
import { detectFraming, type Framing } from "../protocol/detect.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { parseClientEvent } from "../protocol/event_parser.ts";
import type { AuthEvent, HelloEvent } from "../protocol/events.ts";
import { type BodySink, Frame64Parser } from "../protocol/frame64_parser.ts";
import { decodeUtf8 } from "../protocol/utf8.ts";
import type { ClientStyle } from "./outgoing.ts";
import { TextInput, type TextMode } from "./text_input.ts";

/** The largest frame or line accepted before a client has joined. */
export const PRE_JOIN_MAX_BYTES = 1024;

/** What the session is handed, whatever the framing and style it came in. */
export type Inbound =
  /**
   * A name to join with: a JSON `hello`, or the first line of a text client. When that first
   * body of a plain or raw client is not a valid name but can be a message, `guestText` is it:
   * the client then chats as a guest, with that text as its first message.
   */
  | { readonly kind: "hello"; readonly name: string; readonly guestText?: string }
  /** A JSON `hello` or `auth`: the server's hello gate takes it (identity, TLS). */
  | { readonly kind: "handshake"; readonly event: HelloEvent | AuthEvent }
  /** A command (a JSON event or a typed line), after the client has joined. */
  | { readonly kind: "command"; readonly command: ParsedCommand }
  /** A keepalive probe, to be answered with `pong`. */
  | { readonly kind: "ping"; readonly id?: string | number }
  /** Any frame counts as a sign of life; `pong` needs nothing more. */
  | { readonly kind: "pong" }
  /** Something that cannot be carried out; `name` when it was a name refused at the handshake. */
  | { readonly kind: "refused"; readonly error: ProtocolError; readonly name: boolean };

/** What an {@linkcode InboundParser} reports. */
export interface InboundHandler {
  /**
   * Sees the first bytes before the framing is decided (a TLS handshake on the plain port is
   * caught here); true stops reading them, as the connection is being closed.
   */
  onPrefix(prefix: Uint8Array): boolean;
  /** The framing became known. */
  onFraming(framing: Framing): void;
  /** A text connection is known to be a line client or a raw client. */
  onTextMode(mode: TextMode): void;
  /** One item arrived. */
  onInbound(item: Inbound): void;
  /** Bytes to send straight back, outside the chat (telnet answers). */
  onReply(bytes: Uint8Array): void;
  /**
   * Something was thrown outside `push` (a raw burst that ended on a timer was too large, a
   * bug): a `FramingError` closes the connection as one thrown by `push` would.
   */
  onInputError(error: unknown): void;
}

/** Options of an {@linkcode InboundParser}. */
export interface InboundOptions {
  /** The largest body, line or burst once joined. */
  readonly maxMessageBytes: number;
  /** Quiet that ends a raw client's burst (and makes a pausing text connection raw). */
  readonly rawPauseMs: number;
}

/** A character that shows: not a control, format, unassigned or separator character. */
const VISIBLE = /[^\p{C}\p{Z}]/u;

/**
 * Framing detection and parsing for one connection. `push` may throw a `FramingError`
 * (`bad_frame`, `too_large`), after which the connection must be closed.
 */
export class InboundParser implements BodySink {
  readonly #handler: InboundHandler;
  readonly #options: InboundOptions;
  #framing: Framing | undefined;
  #style: ClientStyle | undefined;
  #prefix: Uint8Array | null = null;
  /**
   * The frame64 parser, made when the framing is known and whenever bytes arrive after
   * {@linkcode InboundParser.compact} let it go (it holds nothing between frames).
   */
  #frameParser: Frame64Parser | null = null;
  #textInput: TextInput | null = null;
  #joined = false;
  /** When the frame (or line, or undecided prefix) under way began, or 0. */
  #frameStartedAt = 0;

  /**
   * @param handler where the framing and the items go
   * @param options the size limit once joined, and the pause that ends a raw burst
   */
  constructor(handler: InboundHandler, options: InboundOptions) {
    this.#handler = handler;
    this.#options = options;
  }

  /** True once any byte has arrived (even if the framing is not known yet). */
  get heardAnything(): boolean {
    return this.#framing !== undefined || this.#prefix !== null;
  }

  /** The framing, once known. */
  get framing(): Framing | undefined {
    return this.#framing;
  }

  /**
   * The client style, once known: `line` as soon as the framing is line (a raw client turns
   * `raw` on its first pause), frame64 clients at their first body.
   */
  get style(): ClientStyle | undefined {
    return this.#style;
  }

  /** When the unfinished frame or line began, in milliseconds, or 0 when none is under way. */
  get frameStartedAt(): number {
    return this.#frameStartedAt;
  }

  /**
   * Marks the client as joined, or as no longer joined (its name was refused). While joined,
   * lines are commands and the size limit is the server's message limit rather than the small
   * pre-join one. The session marks a client joined as soon as its join starts: what arrives
   * while the broker answers is meant as commands.
   *
   * @param joined whether the client has joined
   */
  setJoined(joined: boolean): void {
    this.#joined = joined;
    const max = this.#maxBytes();
    if (this.#frameParser !== null) this.#frameParser.maxBodyBytes = max;
    if (this.#textInput !== null) this.#textInput.maxBytes = max;
  }

  /**
   * Lets go of the frame64 parser between frames: an idle connection then holds none (about
   * 100 bytes), and the next bytes make a new one. The server calls it from its sweep.
   */
  compact(): void {
    const parser = this.#frameParser;
    if (parser !== null && !parser.inFrame && parser.failure === null) this.#frameParser = null;
  }

  /**
   * True when the parser holds nothing but its framing and style: a joined frame64 client
   * between frames. Its owner may then let it go (about 120 bytes) and, for a JSON client, make
   * an equal one with {@linkcode InboundParser.joinedJson} when bytes arrive.
   */
  get resting(): boolean {
    const parser = this.#frameParser;
    return this.#framing === "frame64" && this.#joined && this.#style !== undefined &&
      this.#frameStartedAt === 0 &&
      (parser === null || (!parser.inFrame && parser.failure === null));
  }

  /**
   * A parser for a joined JSON client, as one that is {@linkcode InboundParser.resting} is.
   *
   * @param handler where the items go
   * @param options the size limit once joined, and the pause that ends a raw burst
   */
  static joinedJson(handler: InboundHandler, options: InboundOptions): InboundParser {
    const parser = new InboundParser(handler, options);
    parser.#framing = "frame64";
    parser.#style = "json";
    parser.#joined = true;
    return parser;
  }

  #maxBytes(): number {
    return this.#joined ? this.#options.maxMessageBytes : PRE_JOIN_MAX_BYTES;
  }

  /** The connection is closing: forgets an unfinished frame and stops the raw pause timer. */
  close(): void {
    this.#frameStartedAt = 0;
    this.#textInput?.close();
  }

  /**
   * Takes bytes read from the connection.
   *
   * @param bytes the bytes (not kept)
   * @throws {FramingError} on a bad header or an over-long frame or line
   */
  push(bytes: Uint8Array): void {
    if (this.#framing === undefined) {
      bytes = this.#detect(bytes);
      if (this.#framing === undefined) return;
    }
    if (this.#framing === "frame64") {
      const parser = this.#frameParser ??= new Frame64Parser(this, {
        maxBodyBytes: this.#maxBytes(),
      });
      parser.push(bytes);
      this.#trackFrame(parser.inFrame);
    } else {
      this.#textInput!.push(bytes);
      this.#trackFrame(this.#textInput!.bufferedBytes > 0);
    }
  }

  /** The input ended: a last line (or burst) without its end still counts. */
  end(): void {
    try {
      this.#textInput?.flush();
    } catch {
      // An unfinished over-long line at the end is dropped with the connection.
    }
  }

  #trackFrame(inFrame: boolean): void {
    if (!inFrame) {
      this.#frameStartedAt = 0;
    } else if (this.#frameStartedAt === 0) {
      this.#frameStartedAt = Date.now();
    }
  }

  /** Gathers the first bytes until the framing is known; returns the bytes to parse. */
  #detect(bytes: Uint8Array): Uint8Array {
    let prefix = bytes;
    if (this.#prefix !== null) {
      prefix = new Uint8Array(this.#prefix.length + bytes.length);
      prefix.set(this.#prefix);
      prefix.set(bytes, this.#prefix.length);
    }
    if (this.#handler.onPrefix(prefix)) {
      this.#prefix = null;
      return new Uint8Array(0);
    }
    const framing = detectFraming(prefix);
    if (framing === undefined) {
      this.#prefix = prefix.slice();
      this.#trackFrame(true);
      return new Uint8Array(0);
    }
    this.#prefix = null;
    this.#framing = framing;
    if (framing === "line") {
      // Line or raw: decided by the text input, on a LF or a pause.
      this.#style = "line";
      this.#textInput = new TextInput({
        text: (line) => this.#onText(line),
        mode: (mode) => {
          if (mode === "raw") this.#style = "raw";
          this.#handler.onTextMode(mode);
        },
        reply: (bytes) => this.#handler.onReply(bytes),
        error: (error) => this.#handler.onInputError(error),
        paused: () => this.#trackFrame(this.#textInput!.bufferedBytes > 0),
      }, { maxBytes: PRE_JOIN_MAX_BYTES, pauseMs: this.#options.rawPauseMs });
    }
    this.#handler.onFraming(framing);
    return prefix;
  }

  /** Takes one frame64 body (called by the frame parser, which this parser is the sink of). */
  onBody(body: Uint8Array): void {
    if (this.#style === undefined) {
      this.#style = body[firstNonSpace(body)] === 0x7b ? "json" : "plain";
    }
    if (this.#style !== "json") return this.#onText(body);
    const result = parseClientEvent(body, { maxTextBytes: this.#options.maxMessageBytes });
    if (!result.ok) {
      // A name too long to parse is a name refusal like any other: it does not spend the budget.
      const name = !this.#joined && result.type === "hello" && result.error.code === "bad_name";
      return this.#emit({ kind: "refused", error: result.error, name });
    }
    const event = result.event;
    switch (event.type) {
      case "ping":
        return this.#emit(
          event.id === undefined ? { kind: "ping" } : { kind: "ping", id: event.id },
        );
      case "pong":
        return this.#emit({ kind: "pong" });
      case "hello":
      case "auth":
        return this.#emit({ kind: "handshake", event });
    }
    if (!this.#joined) {
      return this.#refuse(
        new ProtocolError("not_joined", `Send "hello" with your name before "${event.type}"`),
      );
    }
    this.#emit({ kind: "command", command: commandOfEvent(event)! });
  }

  #onText(bytes: Uint8Array): void {
    let text: string;
    try {
      text = decodeUtf8(bytes);
    } catch (error) {
      if (error instanceof ProtocolError) return this.#refuse(error);
      throw error;
    }
    if (this.#joined) {
      const command = parseTextInput(text);
      if (command.kind === "invalid") return this.#refuse(command.error);
      return this.#emit({ kind: "command", command });
    }
    // The handshake of a text client: its first line is its name, or a goodbye.
    const candidate = text.trim();
    if (parseTextInput(candidate).kind === "quit") {
      return this.#emit({ kind: "command", command: { kind: "quit" } });
    }
    if (candidate === "") return;
    // A program that never sends a name (plain or raw, not JSON-looking) chats as a guest, if
    // what it sent can be a message at all (a lone NUL from a port scanner cannot). A person at
    // nc (a line client) is asked for a name again instead.
    const guest = this.#style !== "line" && !candidate.startsWith("{") && VISIBLE.test(candidate);
    this.#emit(
      guest
        ? { kind: "hello", name: candidate, guestText: text }
        : { kind: "hello", name: candidate },
    );
  }

  #refuse(error: ProtocolError): void {
    this.#emit({ kind: "refused", error, name: false });
  }

  #emit(item: Inbound): void {
    this.#handler.onInbound(item);
  }
}

function firstNonSpace(body: Uint8Array): number {
  let i = 0;
  while (
    i < body.length &&
    (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)
  ) i++;
  return i;
}
