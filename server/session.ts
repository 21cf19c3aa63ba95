/**
 * One session per connection: it reads and frames the bytes, performs the handshake, turns
 * events and text commands into room actions, enforces the per-client limits and closes the
 * connection once, whatever ends it.
 *
 * @module
 */

import { detectFraming, type Framing } from "../protocol/detect.ts";
import { FramingError, ProtocolError } from "../protocol/errors.ts";
import { parseClientEvent } from "../protocol/event_parser.ts";
import type { ClientEvent, LeaveReason, ServerEvent } from "../protocol/events.ts";
import { Frame64Parser } from "../protocol/frame64_parser.ts";
import { validateName } from "../protocol/names.ts";
import { isBlank, sanitizeText } from "../protocol/sanitize.ts";
import { parseTextInput, type TextCommand } from "../protocol/text_commands.ts";
import { decodeUtf8 } from "../protocol/utf8.ts";
import {
  type CommandArguments,
  type CommandName,
  COMMANDS,
  type CommandTarget,
  runCommand,
} from "./commands.ts";
import { ErrorBudget } from "./error_budget.ts";
import { FloodControl } from "./flood_control.ts";
import type { Logger } from "./log.ts";
import type { GuestNames } from "./guest_names.ts";
import { type ClientStyle, encodeFor, encodeInfo } from "./outgoing.ts";
import { Outbox } from "./outbox.ts";
import type { Room, RoomMember } from "./room.ts";
import { SlabPool } from "./slab_pool.ts";
import { type GateSession, HelloGate, type Trust } from "./trust.ts";
import { looksLikeTls } from "./tls_probe.ts";
import { GREETING, SILENT_TIMEOUT_NOTICE } from "./greeting.ts";
import { RAW_WRITE_GAP_MS, TextInput, type TextMode } from "./text_input.ts";

/** The largest frame or line accepted before a client has joined. */
export const PRE_JOIN_MAX_BYTES = 1024;
/** Errors (other than name refusals) that close a connection before it has joined. */
export const PRE_JOIN_ERROR_LIMIT = 3;
/** Errors within {@linkcode ERROR_WINDOW_MS} that close a joined connection. */
export const JOINED_ERROR_LIMIT = 10;
/** The window of the error budget. */
export const ERROR_WINDOW_MS = 60_000;
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

/** The limits a session enforces, in the units it uses (bytes, milliseconds). */
export interface SessionLimits {
  readonly maxMessageBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly frameTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly rateBurst: number;
  readonly ratePerSecond: number;
  readonly sendQueueBytes: number;
  readonly writeTimeoutMs: number;
  /** Quiet that ends a raw client's burst (and makes a pausing text connection raw). */
  readonly rawPauseMs: number;
  /** Silence from a new connection before it is greeted; 0 never greets. */
  readonly greetAfterMs: number;
}

/** What a session needs from its server. */
export interface SessionHost {
  readonly room: Room;
  readonly limits: SessionLimits;
  readonly log: Logger;
  /** TLS and identities. */
  readonly trust: Trust;
  /** Where guest names come from, one counter per server. */
  readonly guestNames: GuestNames;
  /** Called once when the session has closed and its socket is released. */
  sessionClosed(session: Session): void;
}

/** The socket operations a session uses; `Deno.Conn` has them all. */
export interface SessionSocket {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  /** Ends the sending side only (TCP FIN), so the last frames arrive before the close. */
  closeWrite?(): Promise<void>;
}

/** How a session came to close, for the log. */
export interface CloseOptions {
  /** An event to send just before closing (an error, `shutdown`). */
  readonly notice?: ServerEvent;
  /** Whether the room hears of the leave (not at shutdown, where everyone is told at once). */
  readonly announce?: boolean;
}

/**
 * One client connection.
 */
export class Session implements RoomMember, CommandTarget {
  /** The peer's address for display (`1.2.3.4:5678`). */
  readonly peer: string;
  /** The peer's IP address, normalised (`::ffff:` removed). */
  readonly ip: string;
  /** True when the connection is over TLS (set by the listener before `run`). */
  encrypted = false;
  /** The fingerprint of the identity this member proved, once joined with a key. */
  fingerprint: string | undefined;
  /** The `hello`-to-join steps (made on the first `hello`). */
  #gate: HelloGate | null = null;
  #socket: SessionSocket;
  #host: SessionHost;
  #limits: SessionLimits;
  #outbox: Outbox;
  #framing: Framing | undefined;
  #style: ClientStyle | undefined;
  #prefix: Uint8Array | null = null;
  #frameParser: Frame64Parser | null = null;
  #textInput: TextInput | null = null;
  /** True once the connection was sent the greeting (it had been silent). */
  #greeted = false;
  #joined = false;
  #closed = false;
  /** Made on the first counted command: an idle connection needs none. */
  #flood: FloodControl | null = null;
  /** Made on the first error. */
  #errors: ErrorBudget | null = null;
  #connectedAt: number;
  #heardAt: number;
  #pingSentAt = 0;
  #pingCounter = 0;
  #frameStartedAt = 0;
  #closeReason: LeaveReason | undefined;
  /** Called when the read loop has ended (the peer closed, or the socket failed). */
  #onInputEnded: (() => void) | null = null;
  #inputDone = false;
  /** A refused connection (server full) is read only until its framing is known. */
  #refusal: ProtocolError | undefined;

  /**
   * @param socket the connection
   * @param peer the peer's address for display
   * @param ip the peer's normalised IP address
   * @param host the server
   * @param now the current time in milliseconds
   */
  constructor(socket: SessionSocket, peer: string, ip: string, host: SessionHost, now: number) {
    this.#socket = socket;
    this.peer = peer;
    this.ip = ip;
    this.#host = host;
    this.#limits = host.limits;
    this.#connectedAt = now;
    this.#heardAt = now;
    this.#outbox = new Outbox(socket, {
      maxQueuedBytes: this.#limits.sendQueueBytes,
      onFailure: (failure) => this.close(failure === "overflow" ? "slow" : "closed"),
    });
  }

  /** How the client is spoken to; JSON until the first frame shows otherwise. */
  get style(): ClientStyle {
    return this.#style ?? "json";
  }

  /** The client's name once it has joined. */
  get name(): string | undefined {
    return this.#host.room.nameOf(this);
  }

  /** The framing, once known. */
  get framing(): Framing | undefined {
    return this.#framing;
  }

  /** True once the session is closing or closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the session closed, once it has. */
  get closeReason(): LeaveReason | undefined {
    return this.#closeReason;
  }

  /**
   * Marks the connection as refused (server full, too many from one address): the client is
   * told why as soon as its framing is known, then closed.
   *
   * @param error the refusal
   */
  refuse(error: ProtocolError): void {
    this.#refusal = error;
  }

  /** Hands bytes to the connection's send queue (the room's side of the bridge). */
  deliver(bytes: Uint8Array): void {
    this.#outbox.enqueue(bytes);
  }

  /** Reads until the connection ends; resolves when it has closed. Never rejects. */
  async run(): Promise<void> {
    let buffer = SMALL_READ_BUFFERS.take();
    try {
      for (;;) {
        const count = await this.#socket.read(buffer);
        if (count === null) {
          if (!this.#closed) this.#endOfInput();
          break;
        }
        // Once closing, input is read and dropped until the peer closes too (see #release).
        if (this.#closed) {
          this.#heardAt = Date.now();
          continue;
        }
        this.#heardAt = Date.now();
        this.#receive(buffer.subarray(0, count));
        buffer = nextReadBuffer(buffer, count, SMALL_READ_BUFFERS);
      }
    } catch (error) {
      if (!this.#closed) {
        this.#host.log.info("read_error", { peer: this.peer, error: errorText(error) });
        this.close("closed");
      }
    } finally {
      SMALL_READ_BUFFERS.give(buffer);
      this.#inputDone = true;
      this.#onInputEnded?.();
    }
  }

  /**
   * Checks the deadlines; the server calls it periodically.
   *
   * @param now the current time in milliseconds
   */
  checkDeadlines(now: number): void {
    if (this.#closed) return;
    const limits = this.#limits;
    if (this.#outbox.stalledFor(now) > limits.writeTimeoutMs) {
      this.close("slow");
      return;
    }
    if (this.#frameStartedAt > 0 && now - this.#frameStartedAt > limits.frameTimeoutMs) {
      this.#closeWithError("timeout", "The frame was not finished in time", "timeout");
      return;
    }
    if (!this.#joined) {
      if (this.#shouldGreet(now)) return;
      if (now - this.#connectedAt > limits.handshakeTimeoutMs) {
        if (this.#framing === undefined) {
          // A greeted connection was spoken to in text: it is told why it is closed, in text.
          if (this.#greeted && this.#prefix === null) this.#outbox.enqueue(SILENT_TIMEOUT_NOTICE);
          this.close("timeout");
        } else {
          this.#closeWithError("timeout", "The handshake was not finished in time", "timeout");
        }
      }
      return;
    }
    // Keepalive is for JSON clients only: a classic client would choke on a ping.
    if (this.#style !== "json") return;
    const silent = now - this.#heardAt;
    if (silent > limits.idleTimeoutMs) {
      this.close("timeout");
    } else if (silent > limits.pingIntervalMs && this.#pingSentAt <= this.#heardAt) {
      this.#pingSentAt = now;
      this.#send({ type: "ping", id: `k${++this.#pingCounter}` });
    }
  }

  /**
   * Closes the session once: leaves the room (announced unless told otherwise), sends a last
   * notice if given, lets the queue drain for a moment, and releases the socket.
   *
   * @param reason why, for the room and the log
   * @param options a last notice, and whether to announce the leave
   */
  close(reason: LeaveReason, options: CloseOptions = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#frameStartedAt = 0;
    this.#textInput?.close();
    const room = this.#host.room;
    const name = room.nameOf(this);
    if (name !== undefined) {
      if (this.fingerprint !== undefined) this.#host.trust.owners.release(name, this.fingerprint);
      room.leave(this, reason, options.announce ?? true);
      this.#host.log.info("leave", { name, peer: this.peer, reason, online: room.online });
    }
    if (options.notice !== undefined) this.#outbox.enqueue(encodeFor(options.notice, this.style));
    void this.#release();
  }

  /** Waits until the session's socket is released. */
  async #release(): Promise<void> {
    const deadline = Date.now() + CLOSE_FLUSH_MS;
    if (this.#outbox.busy) await this.#until(this.#outbox.drained(), CLOSE_FLUSH_MS);
    const drained = !this.#outbox.busy;
    this.#outbox.close();
    // Closing a socket with unread input resets the connection, which destroys the frames still
    // on their way (a `shutdown` to a client that is still sending). So: send FIN after the last
    // frame, and drop input until the peer closes too or has been quiet for a moment, within the
    // same deadline.
    if (drained && !this.#inputDone && this.#socket.closeWrite !== undefined) {
      try {
        // Bounded: over TLS, a peer that stalled mid-handshake would hold it forever.
        const closing = this.#socket.closeWrite();
        closing.catch(() => {});
        await this.#until(closing, deadline - Date.now());
        this.#heardAt = Date.now();
        const inputEnded = this.#inputEnded();
        while (!this.#inputDone) {
          const now = Date.now();
          const wait = Math.min(deadline - now, this.#heardAt + LINGER_QUIET_MS - now);
          if (wait <= 0) break;
          await this.#until(inputEnded, wait);
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
    this.#host.sessionClosed(this);
  }

  /** Resolves when the read loop has ended (made only when closing: idle sessions need none). */
  #inputEnded(): Promise<void> {
    if (this.#inputDone) return Promise.resolve();
    return new Promise((resolve) => this.#onInputEnded = resolve);
  }

  /** Waits for a promise, or at most `ms` milliseconds. */
  async #until(promise: Promise<void>, ms: number): Promise<void> {
    if (ms <= 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([promise, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
    clearTimeout(timer);
  }

  // ---- input ----

  #receive(bytes: Uint8Array): void {
    try {
      if (this.#framing === undefined) {
        bytes = this.#detect(bytes);
        if (this.#framing === undefined || this.#closed) return;
      }
      if (this.#frameParser !== null) {
        this.#frameParser.push(bytes);
        this.#trackFrame(this.#frameParser.inFrame);
      } else {
        this.#textInput!.push(bytes);
        this.#trackFrame(this.#textInput!.bufferedBytes > 0);
      }
    } catch (error) {
      this.#inputFailed(error);
    }
  }

  #inputFailed(error: unknown): void {
    if (this.#closed) return;
    if (error instanceof FramingError) {
      if (this.#style === undefined && this.#framing === "line") this.#style = "line";
      this.#closeWithError(error.code, error.message, "error");
    } else {
      this.#host.log.error("internal_error", { peer: this.peer, error: errorText(error) });
      this.close("error");
    }
  }

  /** Greets a connection that has said nothing yet, once; true when it did so now. */
  #shouldGreet(now: number): boolean {
    const after = this.#limits.greetAfterMs;
    if (after <= 0 || this.#greeted || this.#framing !== undefined || this.#prefix !== null) {
      return false;
    }
    if (now - this.#connectedAt <= after) return false;
    this.#greeted = true;
    // The handshake deadline starts again: a person has just been asked for a name.
    this.#connectedAt = now;
    this.#outbox.enqueue(GREETING);
    this.#host.log.info("greeted", { peer: this.peer });
    return true;
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
    if (!this.encrypted && looksLikeTls(prefix)) {
      // A TLS client on the plain port cannot read a plain answer: it sees its handshake fail
      // at once (and may then ask again in plain text with `hello.tls`); a person reading the
      // bytes sees why.
      const tlsPort = this.#host.trust.tlsPort;
      this.#host.log.info("tls_on_plain_port", { peer: this.peer });
      this.close("error", {
        notice: {
          type: "error",
          code: "use_tls",
          message: tlsPort === undefined
            ? "This port speaks plain TCP and the server has no TLS port"
            : `This port speaks plain TCP: use TLS on port ${tlsPort}`,
          ...(tlsPort === undefined ? {} : { tlsPort }),
        },
      });
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
    this.#host.log.info("framing", { peer: this.peer, framing });
    if (framing === "line") {
      // Line or raw: decided by the text input, on a LF or a pause (see #onTextMode).
      this.#style = "line";
      this.#textInput = new TextInput({
        text: (line) => this.#onText(line),
        mode: (mode) => this.#onTextMode(mode),
        reply: (bytes) => this.#outbox.enqueue(bytes),
        error: (error) => this.#inputFailed(error),
        paused: () => this.#trackFrame(this.#textInput!.bufferedBytes > 0),
      }, { maxBytes: PRE_JOIN_MAX_BYTES, pauseMs: this.#limits.rawPauseMs });
      return prefix;
    }
    this.#frameParser = new Frame64Parser((body) => this.#onBody(body), {
      maxBodyBytes: PRE_JOIN_MAX_BYTES,
    });
    if (this.#refusal !== undefined) {
      this.#closeWithError(this.#refusal.code, this.#refusal.message, "error");
    }
    return prefix;
  }

  /** A text connection is known to be a line or a raw client. */
  #onTextMode(mode: TextMode): void {
    this.#host.log.info("text_mode", { peer: this.peer, mode });
    if (mode === "raw") {
      this.#style = "raw";
      this.#outbox.separateWrites(RAW_WRITE_GAP_MS);
    }
    if (this.#refusal !== undefined) {
      this.#closeWithError(this.#refusal.code, this.#refusal.message, "error");
    }
  }

  #onBody(body: Uint8Array): void {
    if (this.#closed) return;
    if (this.#style === undefined) {
      this.#style = body[firstNonSpace(body)] === 0x7b ? "json" : "plain";
    }
    if (this.#style === "json") {
      const result = parseClientEvent(body, { maxTextBytes: this.#limits.maxMessageBytes });
      if (result.ok) this.#onEvent(result.event);
      // A name too long to parse is a name refusal like any other: it does not spend the budget.
      else if (!this.#joined && result.type === "hello" && result.error.code === "bad_name") {
        this.#refuseName(result.error);
      } else this.#refuseEvent(result.error);
    } else {
      this.#onText(body);
    }
  }

  #onText(bytes: Uint8Array): void {
    if (this.#closed) return;
    let text: string;
    try {
      text = decodeUtf8(bytes);
    } catch (error) {
      if (error instanceof ProtocolError) return this.#refuseEvent(error);
      throw error;
    }
    if (!this.#joined) return this.#textHandshake(text);
    this.#runText(parseTextInput(text));
  }

  #textHandshake(text: string): void {
    const candidate = text.trim();
    if (parseTextInput(candidate).kind === "quit") return this.quit();
    if (candidate === "") return;
    const result = validateName(candidate);
    if (result.ok) return this.#join(result.name, undefined);
    // A program that never sends a name (plain or raw, not JSON-looking) chats as a guest, if
    // what it sent can be a message at all (a lone NUL from a port scanner cannot).
    if (this.#style === "line" || candidate.startsWith("{") || !VISIBLE.test(candidate)) {
      return this.#refuseName(result.error);
    }
    this.#joinAsGuest(text);
  }

  /** Joins under a guest name, says so, and takes `text` as the first message. */
  #joinAsGuest(text: string): void {
    const room = this.#host.room;
    // A guest name is never one an identity owns.
    const owners = this.#host.trust.owners;
    const name = this.#host.guestNames.next((candidate) =>
      room.isTaken(candidate) || owners.ownerOf(candidate) !== undefined
    );
    this.#join(name, undefined);
    if (!this.#joined) return;
    this.sendInfo([`* you are ${name}; choose a name with /nick NAME`]);
    this.#runText(parseTextInput(text));
  }

  #runText(command: TextCommand): void {
    switch (command.kind) {
      case "invalid":
        return this.#refuseEvent(command.error);
      case "say":
      case "me":
        return this.#run(command.kind, command);
      case "dm":
        return this.#run("dm", command);
      case "nick":
        return this.#run("nick", command);
      case "whois":
        return this.#run("whois", command);
      case "who":
      case "help":
      case "quit":
        return this.#run(command.kind, {});
    }
  }

  #onEvent(event: ClientEvent): void {
    if (event.type === "ping") {
      this.#send(event.id === undefined ? { type: "pong" } : { type: "pong", id: event.id });
      return;
    }
    if (event.type === "pong") return;
    if (!this.#joined) {
      if (event.type !== "hello" && event.type !== "auth") {
        return this.#refuseEvent(
          new ProtocolError("not_joined", `Send "hello" with your name before "${event.type}"`),
        );
      }
      this.#gate ??= new HelloGate(this.#host.trust, this.#gateSession());
      return this.#gate.handle(event);
    }
    switch (event.type) {
      case "hello":
      case "auth":
        return this.#refuseEvent(
          new ProtocolError("already_joined", `You have already joined as "${this.name}"`),
        );
      case "whois":
        return this.#run("whois", event);
      case "say":
      case "me":
        return this.#run(event.type, event);
      case "dm":
        return this.#run("dm", event);
      case "nick":
        return this.#run("nick", event);
      case "who":
        return this.#run("who", {});
      case "bye":
        return this.#run("quit", {});
    }
  }

  /** Runs a command from the registry, through flood control when the registry says it counts. */
  #run<N extends CommandName>(name: N, args: CommandArguments[N]): void {
    if (!COMMANDS[name].counted) return runCommand(this, name, args);
    const flood = this.#flood ??= new FloodControl({
      burst: this.#limits.rateBurst,
      perSecond: this.#limits.ratePerSecond,
    });
    switch (flood.take(Date.now())) {
      case "allow":
        return runCommand(this, name, args);
      case "refuse":
        return;
      case "refuse_and_notify":
        return this.#send({
          type: "error",
          code: "rate_limited",
          message: `Slow down: at most ${this.#limits.ratePerSecond} messages a second; ` +
            `that one was not sent`,
        });
      case "disconnect":
        return this.close("flood", {
          notice: {
            type: "error",
            code: "rate_limited",
            message: "Disconnected for flooding the room",
          },
        });
    }
  }

  /** The session as its {@linkcode HelloGate} sees it. */
  #gateSession(): GateSession {
    // deno-lint-ignore no-this-alias
    const session = this;
    return {
      get encrypted() {
        return session.encrypted;
      },
      get closed() {
        return session.#closed;
      },
      send: (event) => this.#send(event),
      refuseEvent: (error) => this.#refuseEvent(error),
      refuseName: (error) => this.#refuseName(error),
      closeWithError: (code, message) => this.#closeWithError(code, message, "error"),
      join: (name, fingerprint) => this.#join(name, fingerprint),
    };
  }

  #join(name: string, fingerprint: string | undefined): void {
    const room = this.#host.room;
    const owners = this.#host.trust.owners;
    const owned = owners.refusal(name, fingerprint);
    if (owned !== undefined) return this.#refuseName(owned);
    this.fingerprint = fingerprint;
    const refused = room.join(this, name);
    if (refused !== undefined) {
      this.fingerprint = undefined;
      return this.#refuseName(refused);
    }
    if (fingerprint !== undefined) owners.claim(name, fingerprint);
    this.#joined = true;
    if (this.#errors !== null) this.#errors.limit = JOINED_ERROR_LIMIT;
    if (this.#frameParser !== null) this.#frameParser.maxBodyBytes = this.#limits.maxMessageBytes;
    if (this.#textInput !== null) this.#textInput.maxBytes = this.#limits.maxMessageBytes;
    this.#host.log.info("join", {
      name,
      peer: this.peer,
      style: this.style,
      online: room.online,
      ...(this.encrypted ? { tls: true } : {}),
      ...(fingerprint === undefined ? {} : { fingerprint }),
    });
  }

  // ---- command target ----

  /** Relays a chat message or action from this member. */
  say(raw: string, kind: "say" | "me"): void {
    const text = sanitizeText(raw);
    if (isBlank(text)) return;
    const message = this.#host.room.say(this, text, kind);
    this.#host.log.message({ from: message.from, id: message.id, kind, text });
  }

  /** Sends a private message from this member. */
  directMessage(to: string, raw: string): void {
    const text = sanitizeText(raw);
    if (isBlank(text)) return;
    const result = this.#host.room.dm(this, to, text);
    if (result instanceof ProtocolError) return this.#refuseEvent(result);
    this.#host.log.message({ from: result.from, to: result.to, id: result.id, kind: "dm", text });
  }

  /** Renames this member. */
  rename(raw: string): void {
    const result = validateName(raw);
    if (!result.ok) return this.#refuseEvent(result.error);
    const old = this.name;
    const owners = this.#host.trust.owners;
    const owned = owners.refusal(result.name, this.fingerprint);
    if (owned !== undefined) return this.#refuseEvent(owned);
    const refused = this.#host.room.rename(this, result.name);
    if (refused !== undefined) return this.#refuseEvent(refused);
    if (this.fingerprint !== undefined && old !== result.name) {
      owners.claim(result.name, this.fingerprint);
      if (old !== undefined) owners.release(old, this.fingerprint);
    }
    if (old !== result.name) this.#host.log.info("nick", { from: old, to: result.name });
  }

  /** Sends this member the user list. */
  sendWho(): void {
    const fingerprints = this.#host.room.fingerprints();
    this.#send({
      type: "who",
      users: this.#host.room.users(),
      ...(Object.keys(fingerprints).length === 0 ? {} : { fingerprints }),
    });
  }

  /** Sends this member what is known of one member's identity. */
  sendWhois(raw: string): void {
    const found = this.#host.room.find(raw);
    if (found === undefined) {
      return this.#refuseEvent(
        new ProtocolError("no_such_user", `Nobody called "${raw}" is here: try /who`),
      );
    }
    const fingerprint = found.member.fingerprint;
    this.#send({
      type: "whois",
      name: found.name,
      ...(fingerprint === undefined ? {} : { fingerprint }),
    });
  }

  /** Sends this member informational lines (text clients only). */
  sendInfo(lines: readonly string[]): void {
    if (this.#style !== undefined && this.#style !== "json") {
      this.#sendBytes(encodeInfo(lines, this.#style));
    }
  }

  /** Leaves cleanly. */
  quit(): void {
    this.close("quit");
  }

  // ---- output and errors ----

  #send(event: ServerEvent): void {
    if (this.#joined && !this.#closed) this.#host.room.sendTo(this, event);
    else this.#outbox.enqueue(encodeFor(event, this.style));
  }

  #sendBytes(bytes: Uint8Array): void {
    if (this.#joined) this.#host.room.sendBytesTo(this, bytes);
    else this.#outbox.enqueue(bytes);
  }

  #refuseName(error: ProtocolError): void {
    this.#send({ type: "error", code: error.code, message: error.message });
    if (this.#style !== "json") this.#sendBytes(encodeInfo(["name?"], this.style));
  }

  #refuseEvent(error: ProtocolError): void {
    this.#host.log.info("client_error", { peer: this.peer, code: error.code });
    const errors = this.#errors ??= new ErrorBudget(
      this.#joined ? JOINED_ERROR_LIMIT : PRE_JOIN_ERROR_LIMIT,
      ERROR_WINDOW_MS,
    );
    if (!errors.spend(Date.now())) {
      this.close("error", {
        notice: {
          type: "error",
          code: error.code,
          message: `${error.message}; too many errors, closing the connection`,
        },
      });
      return;
    }
    this.#send({ type: "error", code: error.code, message: error.message });
  }

  #closeWithError(code: ProtocolError["code"], message: string, reason: LeaveReason): void {
    this.#host.log.info("client_error", { peer: this.peer, code, closing: true });
    this.close(reason, { notice: { type: "error", code, message } });
  }

  #endOfInput(): void {
    if (this.#textInput !== null && !this.#closed) {
      try {
        this.#textInput.flush();
      } catch {
        // An unfinished over-long line at the end is dropped with the connection.
      }
    }
    this.close("closed");
  }
}

/** A character that shows: not a control, format, unassigned or separator character. */
const VISIBLE = /[^\p{C}\p{Z}]/u;

function firstNonSpace(body: Uint8Array): number {
  let i = 0;
  while (
    i < body.length &&
    (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)
  ) i++;
  return i;
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
 * import { LARGE_READ_BYTES, nextReadBuffer, SMALL_READ_BYTES } from "./session.ts";
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

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
