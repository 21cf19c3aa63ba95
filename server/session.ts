/**
 * One session per connection: it joins a {@linkcode Connection} (bytes in and out) and an
 * {@linkcode InboundParser} (framing and parsing) to the chat core. It performs the handshake,
 * runs commands from the one command table through flood control, enforces the per-client
 * deadlines and error budget, and closes once, whatever ends it.
 *
 * @module
 */

import {
  type CommandContext,
  COMMANDS,
  type ModRequest,
  type ParsedCommand,
  parseTextInput,
  runCommand,
} from "../core/commands.ts";
import type { Chat } from "../core/chat.ts";
import { BrokerUnavailableError, type MemberRef } from "../core/broker.ts";
import type { Framing } from "../protocol/detect.ts";
import { FramingError, ProtocolError } from "../protocol/errors.ts";
import type { LeaveReason, ModNoticeEvent, ResumePoint, ServerEvent } from "../protocol/events.ts";
import { nameKey, validateName } from "../protocol/names.ts";
import { isBlank, sanitizeText } from "../protocol/sanitize.ts";
import { Connection, type ConnectionHandler, type ConnectionSocket } from "./connection.ts";
import type { DeliveryMember, NodeDelivery } from "./delivery.ts";
import { ErrorBudget } from "./error_budget.ts";
import { FloodControl } from "./flood_control.ts";
import { type Inbound, type InboundHandler, InboundParser } from "./inbound.ts";
import { GREETING, SILENT_TIMEOUT_NOTICE } from "./greeting.ts";
import type { GuestNames } from "./guest_names.ts";
import type { Logger } from "./log.ts";
import type { OutboxFailure } from "./outbox.ts";
import { type ClientStyle, encodeFor, encodeInfo } from "./outgoing.ts";
import { RAW_WRITE_GAP_MS, type TextMode } from "./text_input.ts";
import { looksLikeTls } from "./tls_probe.ts";
import { type GateSession, HelloGate, PASSWORD_WRONG, type Trust } from "./trust.ts";
import type { Ban, Mute } from "./moderation.ts";
import { memberKeyOf, moderate } from "./moderator.ts";

export {
  CLOSE_FLUSH_MS,
  LARGE_READ_BYTES,
  MEDIUM_READ_BYTES,
  nextReadBuffer,
  SMALL_READ_BYTES,
} from "./connection.ts";
export { PRE_JOIN_MAX_BYTES } from "./inbound.ts";

/** Errors (other than name refusals) that close a connection before it has joined. */
export const PRE_JOIN_ERROR_LIMIT = 3;
/** Errors within {@linkcode ERROR_WINDOW_MS} that close a joined connection. */
export const JOINED_ERROR_LIMIT = 10;
/** The window of the error budget. */
export const ERROR_WINDOW_MS = 60_000;

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
  /** The chat core of this node. */
  readonly chat: Chat<Session>;
  /** How this node's members are sent their events. */
  readonly delivery: NodeDelivery;
  readonly limits: SessionLimits;
  readonly log: Logger;
  /** Where guest names come from, one counter per server. */
  readonly guestNames: GuestNames;
  /** TLS and identities. */
  readonly trust: Trust;
  /** Called once when the session has closed and its socket is released. */
  sessionClosed(session: Session): void;
  /** Every open session of this server (for bans of an address). */
  sessions(): Iterable<Session>;
}

/** The socket operations a session uses; `Deno.Conn` has them all. */
export type SessionSocket = ConnectionSocket;

/** How a session came to close, for the log. */
export interface CloseOptions {
  /** An event to send just before closing (an error, `shutdown`). */
  readonly notice?: ServerEvent;
  /** Whether the room hears of the leave (not at shutdown, where everyone is told at once). */
  readonly announce?: boolean;
}

/**
 * One client connection, and the member of the chat it becomes.
 */
export class Session implements DeliveryMember, CommandContext, ConnectionHandler, InboundHandler {
  /** The peer's IP address, normalised (`::ffff:` removed). */
  readonly ip: string;
  /**
   * The peer's port. The address for display is made from it and `ip` when a log line asks:
   * kept as a string, it was ~32 bytes of every member.
   */
  readonly #port: number;
  /** The member's reference in the chat. */
  readonly ref: MemberRef;
  /** True when the connection is over TLS (set by the listener before `run`). */
  encrypted = false;
  /** The fingerprint of the identity this member proved, once joined with a key. */
  fingerprint: string | undefined;
  /** What only a connection that has not joined yet needs; null once joined. */
  #handshake: _Handshake | null;
  readonly #host: SessionHost;
  readonly #connection: Connection;
  /**
   * The inbound parser; null while a joined JSON client is between frames (the sweep lets it go,
   * see {@linkcode Session.checkDeadlines}): {@linkcode Session.#parser} makes it again.
   */
  #inbound: InboundParser | null;
  #joined = false;
  #closed = false;
  /** Made on the first counted command: an idle connection needs none. */
  #flood: FloodControl | null = null;
  /** Made on the first error. */
  #errors: ErrorBudget | null = null;
  /**
   * A keepalive ping went out since the client was last heard: one per silence. A flag, not the
   * time it was sent, which V8 would keep as a 16-byte heap number in every pinged member.
   */
  #pinged = false;
  #pingCounter = 0;
  #closeReason: LeaveReason | undefined;
  /**
   * The command being carried out when it waits for the broker; the next ones wait for it, so a
   * member's commands take effect in the order it sent them.
   */
  #pending: Promise<void> | null = null;
  /**
   * What arrived while a command waited: items, and the end of the input or a framing error.
   * Made when something has to wait.
   */
  #queue: (Inbound | (() => void))[] | null = null;
  /** The input cannot be parsed any further (a framing error is waiting in the queue). */
  #inputFailed = false;
  /** The mute in force on this member, if any (looked up at join, set by operators). */
  #mute: Mute | undefined;

  /**
   * @param socket the connection
   * @param ip the peer's normalised IP address
   * @param port the peer's port
   * @param host the server
   * @param now the current time in milliseconds
   */
  constructor(socket: SessionSocket, ip: string, port: number, host: SessionHost, now: number) {
    this.ip = ip;
    this.#port = port;
    this.#host = host;
    this.ref = host.chat.newRef();
    this.#handshake = new _Handshake(now);
    // The session is the handler of both, rather than objects of closures: an idle connection
    // should cost as little memory as it can (see bench/README.md, "RSS per idle connection").
    this.#connection = new Connection(socket, this.#host.limits.sendQueueBytes, now, this);
    // The limits are the parser's options: one object for every session.
    this.#inbound = new InboundParser(this, this.#host.limits);
  }

  /** The peer's address for display (`1.2.3.4:5678`, `[::1]:5678`). */
  get peer(): string {
    return peerAddress(this.ip, this.#port);
  }

  /** The inbound parser, made again if the sweep let it go. */
  get #parser(): InboundParser {
    return this.#inbound ??= InboundParser.joinedJson(this, this.#host.limits);
  }

  /**
   * How the client is spoken to: JSON until the first frame shows otherwise, and JSON while the
   * parser is let go (only a JSON client's is).
   */
  get style(): ClientStyle {
    return this.#inbound?.style ?? "json";
  }

  /** The client's name once it has joined. */
  get name(): string | undefined {
    return this.#host.chat.nameOf(this);
  }

  /** The room the client is in, once it has joined. */
  get room(): string | undefined {
    return this.#host.chat.roomOf(this);
  }

  /** The framing, once known. */
  get framing(): Framing | undefined {
    return this.#inbound === null ? "frame64" : this.#inbound.framing;
  }

  /** True while the session is open (the chat core undoes a join that finishes after close). */
  get active(): boolean {
    return !this.#closed;
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
   * @param quietly true to log nothing of this connection (a banned address that keeps
   *   retrying would otherwise write lines to the log as fast as it connects)
   */
  refuse(error: ProtocolError, quietly = false): void {
    this.#handshake!.refusal = error;
    this.#handshake!.quiet = quietly;
  }

  /** True when nothing of this connection is logged (see {@linkcode refuse}). */
  get quiet(): boolean {
    return this.#handshake?.quiet ?? false;
  }

  /** Hands bytes to the connection's send queue (delivery's side of the bridge). */
  deliver(bytes: Uint8Array): void {
    this.#connection.send(bytes);
  }

  /**
   * True while nothing has been read from the connection and it was not greeted: a client whose
   * first bytes the server has not seen yet, or a person who has not typed yet.
   */
  get unheard(): boolean {
    const handshake = this.#handshake;
    return handshake !== null && !handshake.greeted && !this.#parser.heardAnything;
  }

  /**
   * Starts reading until the connection ends (an idle member keeps no promise of it: see
   * {@linkcode Session.ended}).
   */
  run(): void {
    this.#connection.run();
  }

  /** Resolves when the connection's reading has ended. Never rejects. */
  ended(): Promise<void> {
    return this.#connection.ended();
  }

  /**
   * Checks the deadlines (and lets an idle connection let go of its send queue and its parser,
   * made again when needed); the server calls it periodically.
   *
   * @param now the current time in milliseconds
   * @param canGreet false while the server cannot tell a silent connection from one whose hello
   *   it has not read yet (see `ChatServer`'s sweep): the greeting waits
   */
  checkDeadlines(now: number, canGreet = true): void {
    if (this.#closed) return;
    const limits = this.#host.limits;
    if (this.#connection.stalledFor(now) > limits.writeTimeoutMs) {
      this.close("slow");
      return;
    }
    // Housekeeping rides on the sweep: an idle connection holds no send queue and no parser.
    this.#connection.compact();
    const inbound = this.#inbound;
    if (inbound !== null) {
      // Only a JSON client's: the parser made again knows no other style (a plain frame64 client
      // is rare enough to keep its own).
      if (inbound.resting && inbound.style === "json" && !this.#inputFailed) {
        this.#inbound = null;
      } else {
        inbound.compact();
      }
    }
    const frameStartedAt = this.#inbound?.frameStartedAt ?? 0;
    if (frameStartedAt > 0 && now - frameStartedAt > limits.frameTimeoutMs) {
      this.#closeWithError("timeout", "The frame was not finished in time", "timeout");
      return;
    }
    const handshake = this.#handshake;
    if (handshake !== null) {
      if (canGreet && this.#shouldGreet(handshake, now)) return;
      if (now - handshake.connectedAt > limits.handshakeTimeoutMs) {
        if (this.#parser.framing === undefined) {
          // A greeted connection was spoken to in text: it is told why it is closed, in text.
          if (handshake.greeted && !this.#parser.heardAnything) {
            this.#connection.send(SILENT_TIMEOUT_NOTICE);
          }
          this.close("timeout");
        } else {
          this.#closeWithError("timeout", "The handshake was not finished in time", "timeout");
        }
      }
      return;
    }
    // Keepalive is for JSON clients only: a classic client would choke on a ping.
    if (this.style !== "json") return;
    const heardAt = this.#connection.heardAt;
    const silent = now - heardAt;
    if (silent > limits.idleTimeoutMs) {
      this.close("timeout");
    } else if (silent > limits.pingIntervalMs && !this.#pinged) {
      this.#pinged = true;
      this.#send({ type: "ping", id: `k${++this.#pingCounter}` });
    }
  }

  /** Greets a connection that has said nothing yet, once; true when it did so now. */
  #shouldGreet(handshake: _Handshake, now: number): boolean {
    const after = this.#host.limits.greetAfterMs;
    if (after <= 0 || handshake.greeted || this.#parser.heardAnything) return false;
    if (now - handshake.connectedAt <= after) return false;
    handshake.greeted = true;
    // The handshake deadline starts again: a person has just been asked for a name.
    handshake.connectedAt = now;
    this.#connection.send(GREETING);
    this.#host.log.info("greeted", { peer: this.peer });
    return true;
  }

  /**
   * Closes the session once: leaves the chat (announced unless told otherwise), sends a last
   * notice if given, lets the queue drain for a moment, and releases the socket.
   *
   * @param reason why, for the room and the log
   * @param options a last notice, and whether to announce the leave
   */
  close(reason: LeaveReason, options: CloseOptions = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#inbound?.close();
    this.#queue = null;
    if (this.#handshake !== null) {
      clearTimeout(this.#handshake.passwordTimer);
      this.#handshake.passwordTimer = undefined;
    }
    const chat = this.#host.chat;
    const name = chat.nameOf(this);
    if (name !== undefined) {
      this.#host.trust.members?.left(memberKeyOf(this)).catch((error) =>
        this.#host.log.error("member_directory_failed", { name, error: errorText(error) })
      );
      if (this.fingerprint !== undefined) {
        this.#host.trust.owners.release(name, this.fingerprint).catch((error) =>
          this.#host.log.error("name_release_failed", { name, error: errorText(error) })
        );
      }
      const room = chat.roomOf(this);
      void chat.leave(this, reason, options.announce ?? true).then((online) => {
        this.#host.log.info("leave", { name, peer: this.peer, reason, room, online });
      }, (error) => this.#internalError(error));
    }
    if (options.notice !== undefined) {
      this.#connection.send(encodeFor(options.notice, this.style));
    }
    void this.#connection.close().then(() => this.#host.sessionClosed(this));
  }

  // ---- input ----

  /** Takes bytes read from the connection (called by the connection). */
  onBytes(bytes: Uint8Array): void {
    // Heard: the next silence gets its own ping.
    this.#pinged = false;
    if (this.#inputFailed) return;
    try {
      this.#parser.push(bytes);
    } catch (error) {
      this.onInputError(error);
    }
  }

  /** The input failed, in `push` or on a raw client's pause (called by the inbound parser). */
  onInputError(error: unknown): void {
    if (this.#closed || this.#inputFailed) return;
    if (error instanceof FramingError) {
      // What arrived before the bad frame is carried out first, as if it came alone.
      this.#inputFailed = true;
      this.#afterPending(() => this.#closeWithError(error.code, error.message, "error"));
    } else {
      this.#internalError(error);
    }
  }

  /** Runs an action now, or after the command under way and those queued behind it. */
  #afterPending(action: () => void): void {
    if (this.#pending === null) action();
    else (this.#queue ??= []).push(action);
  }

  /** The peer closed its side (called by the connection). */
  onEnd(): void {
    if (!this.#closed && !this.#inputFailed) this.#inbound?.end();
    this.#afterPending(() => this.close("closed"));
  }

  /** A read failed (called by the connection). */
  onReadError(error: unknown): void {
    this.#host.log.info("read_error", { peer: this.peer, error: errorText(error) });
    this.close("closed");
  }

  /** The send queue overflowed or a write failed (called by the connection). */
  onSendFailure(failure: OutboxFailure): void {
    this.close(failure === "overflow" ? "slow" : "closed");
  }

  /** Sees the first bytes: a TLS client on the plain port is told (called by the parser). */
  onPrefix(prefix: Uint8Array): boolean {
    if (this.encrypted || !looksLikeTls(prefix)) return false;
    // A TLS client on the plain port cannot read a plain answer: it sees its handshake fail at
    // once (and may then ask again in plain text with `hello.tls`); a person reading the bytes
    // sees why.
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
    return true;
  }

  /** The framing is known (called by the inbound parser). */
  onFraming(framing: Framing): void {
    if (!this.quiet) this.#host.log.info("framing", { peer: this.peer, framing });
    // A text connection is told once it is known to be a line or a raw client (onTextMode).
    const refusal = this.#handshake?.refusal;
    if (framing !== "line" && refusal !== undefined) {
      this.#closeWithError(refusal.code, refusal.message, "error");
    }
  }

  /** A text connection is known to be a line or a raw client (called by the inbound parser). */
  onTextMode(mode: TextMode): void {
    if (!this.quiet) this.#host.log.info("text_mode", { peer: this.peer, mode });
    if (mode === "raw") this.#connection.separateWrites(RAW_WRITE_GAP_MS);
    const refusal = this.#handshake?.refusal;
    if (refusal !== undefined) {
      this.#closeWithError(refusal.code, refusal.message, "error");
    }
  }

  /** Sends bytes straight back, outside the chat: telnet answers (called by the inbound parser). */
  onReply(bytes: Uint8Array): void {
    if (!this.#closed) this.#connection.send(bytes);
  }

  /** One item arrived (called by the inbound parser). */
  onInbound(item: Inbound): void {
    if (this.#closed || item.kind === "pong") return;
    if (this.#pending !== null) {
      (this.#queue ??= []).push(item);
      return;
    }
    this.#handle(item);
  }

  /**
   * Carries out one item; when it waits for the broker, the next items queue behind it unless
   * it is a chat message (see {@linkcode isBarrier}).
   */
  #handle(item: Inbound): void {
    let result: void | Promise<void>;
    try {
      result = this.#dispatch(item);
    } catch (error) {
      return this.#internalError(error);
    }
    if (!(result instanceof Promise)) return;
    const done = result.catch((error) => this.#internalError(error));
    if (!isBarrier(item)) return;
    this.#holdInbound(done);
  }

  /** Items that arrive until `done` settles wait in the queue, then are handled in order. */
  #holdInbound(done: Promise<void>): void {
    this.#pending = done.finally(() => {
      this.#pending = null;
      while (!this.#closed && this.#pending === null) {
        const next = this.#queue?.shift();
        if (next === undefined) {
          this.#queue = null;
          break;
        }
        if (typeof next === "function") next();
        else this.#handle(next);
      }
    });
  }

  #dispatch(item: Inbound): void | Promise<void> {
    switch (item.kind) {
      case "ping":
        return this.#send(
          item.id === undefined ? { type: "pong" } : { type: "pong", id: item.id },
        );
      case "refused":
        return item.name ? this.#refuseName(item.error) : this.#refuseEvent(item.error);
      case "hello": {
        if (this.#joined || this.#handshake!.joining) {
          return this.#refuseEvent(
            new ProtocolError("already_joined", `You have already joined as "${this.name}"`),
          );
        }
        if (this.#host.trust.password !== undefined) return this.#textPasswordStep(item.name);
        const result = validateName(item.name);
        if (result.ok) return this.#join(result.name);
        if (item.guestText !== undefined) return this.#joinAsGuest(item.guestText);
        return this.#refuseName(result.error);
      }
      case "handshake": {
        if (this.#joined || this.#handshake!.joining) {
          return this.#refuseEvent(
            new ProtocolError("already_joined", `You have already joined as "${this.name}"`),
          );
        }
        // Not joined nor joining: the handshake is there.
        const handshake = this.#handshake!;
        handshake.gate ??= new HelloGate(this.#host.trust, this.#gateSession());
        // A reconnecting client says where it was; the join the gate lets through resumes there.
        if (item.event.type === "hello") handshake.resume = item.event.resume;
        handshake.inGate = true;
        try {
          handshake.gate.handle(item.event);
        } finally {
          handshake.inGate = false;
        }
        // A hello without a key joins at once: what follows it waits for that join.
        const joining = handshake.gateJoin;
        handshake.gateJoin = null;
        return joining ?? undefined;
      }
      case "command":
        // A command sent right behind a hello whose name was then refused.
        if (!this.#joined && item.command.kind !== "quit") {
          return this.#refuseEvent(
            new ProtocolError("not_joined", "Join with a name first: that was not sent"),
          );
        }
        return this.#run(item.command);
      case "pong":
        return;
    }
  }

  /**
   * A text client on a server with a password: its first line is its name (never taken as a
   * guest's first message, which would be shown before the password), and the line after
   * `password?` is the password. Nothing is compared before that line, so the name line is no
   * way around the wait that wrong passwords earn; a name is used or shown only once the
   * password is right. A client that sent the password first (then its name) has its name
   * checked as the password, fails, and is closed: its password was never shown or logged.
   * The password itself is never accepted as a name.
   */
  #textPasswordStep(line: string): void | Promise<void> {
    // Not joined nor joining: the handshake is there.
    const handshake = this.#handshake!;
    const name = handshake.nameBeforePassword;
    if (handshake.passwordProved || name === undefined) {
      const result = validateName(line);
      if (!result.ok) return this.#refuseName(result.error);
      return this.#host.trust.owners.refusal(result.name, undefined).then((owned) => {
        if (this.#closed) return;
        if (owned !== undefined) return this.#refuseName(owned);
        if (handshake.passwordProved) return void this.#joinUnlessPassword(result.name);
        handshake.nameBeforePassword = result.name;
        this.#sendBytes(encodeInfo(["password?"], this.style));
      });
    }
    handshake.nameBeforePassword = undefined;
    this.checkPassword(line, (ok) => {
      if (!ok) return this.#closeWithError("bad_password", PASSWORD_WRONG, "error");
      handshake.passwordProved = true;
      void this.#joinUnlessPassword(name);
    });
  }

  /** Joins a text client that proved the password, unless its name is that password. */
  #joinUnlessPassword(name: string): Promise<void> | void {
    // Compared only once the client has shown it knows the password: this answers nothing new.
    if (this.#host.trust.password!.matches(name)) {
      return this.#refuseName(
        new ProtocolError("bad_name", "Your name cannot be the server's password: choose another"),
      );
    }
    return this.#join(name);
  }

  /**
   * Checks the server's password after the wait this address has earned with wrong ones (a
   * timer of this connection: nobody else waits), then calls `then` unless the session closed.
   *
   * @param given the password sent
   * @param then what to do with the verdict
   */
  checkPassword(given: string, then: (ok: boolean) => void): void {
    const guard = this.#host.trust.password;
    if (guard === undefined) return then(true);
    const handshake = this.#handshake;
    const check = () => {
      if (handshake !== null) handshake.passwordTimer = undefined;
      if (this.#closed) return;
      const ok = guard.check(this.ip, given);
      if (!ok) this.#host.log.info("bad_password", { peer: this.peer, offenders: guard.offenders });
      then(ok);
    };
    const wait = guard.reserve(this.ip);
    if (wait <= 0) return check();
    this.#host.log.info("password_wait", { peer: this.peer, ms: wait });
    const timer = setTimeout(check, wait);
    if (handshake !== null) handshake.passwordTimer = timer;
  }

  /** True when the member's identity is an operator. */
  get isOp(): boolean {
    return this.#host.trust.moderation.isOp(this.fingerprint);
  }

  /** Runs a command from the table, through flood control when the table says it counts. */
  #run(command: ParsedCommand): void | Promise<void> {
    const entry = COMMANDS[command.kind];
    if (entry.opOnly && !this.isOp) {
      return this.#refuseEvent(
        new ProtocolError(
          "not_op",
          `Only operators can use ${entry.words[0]}: ask one of them (see /help for yours)`,
        ),
      );
    }
    if (!entry.counted) return runCommand(this, command);
    const flood = this.#flood ??= new FloodControl({
      burst: this.#host.limits.rateBurst,
      perSecond: this.#host.limits.ratePerSecond,
    });
    switch (flood.take(Date.now())) {
      case "allow":
        return runCommand(this, command);
      case "refuse":
        return;
      case "refuse_and_notify":
        return this.#send({
          type: "error",
          code: "rate_limited",
          message: `Slow down: at most ${this.#host.limits.ratePerSecond} messages a second; ` +
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

  /**
   * Joins under a valid name.
   *
   * @param name the name
   * @param quietly true for a guest name: a taken one is tried again with the next, unannounced
   * @param resume where a reconnecting client was (`hello.resume`)
   */
  async #join(
    name: string,
    quietly = false,
    fingerprint?: string,
    resume?: ResumePoint,
  ): Promise<void> {
    const owners = this.#host.trust.owners;
    const admission = this.#admission(fingerprint);
    if (admission !== undefined) {
      this.#host.log.info("refuse", { peer: this.peer, reason: admission.code, name });
      return this.#closeWithError(admission.code, admission.message, "error");
    }
    // From here what arrives is meant as commands (a client may send them right behind its
    // hello), so the parser is told now, before anything is awaited; a refusal undoes it.
    const handshake = this.#handshake!;
    handshake.joining = true;
    this.#parser.setJoined(true);
    // An identity claims the name before joining with it, in one atomic step of the owners (of
    // the cluster with --redis): two identities asking for one free name at once never both get
    // it. A claim the join then finds unneeded (a member without an identity has the name) is
    // undone.
    let fresh = false;
    let owned: ProtocolError | undefined;
    if (fingerprint === undefined) {
      owned = await owners.refusal(name, undefined);
    } else {
      const claim = await owners.claim(name, fingerprint);
      if (claim.granted) fresh = claim.fresh;
      else owned = claim.refusal;
    }
    if (owned !== undefined || this.#closed) {
      handshake.joining = false;
      this.#parser.setJoined(false);
      if (fresh) await owners.unclaim(name, fingerprint!);
      if (owned !== undefined && !quietly && !this.#closed) this.#refuseName(owned);
      return;
    }
    this.fingerprint = fingerprint;
    // Operators of other nodes find this member by name (a server alone has no directory). It is
    // written before the join is announced, so an operator who acts on the `join` finds it.
    const directory = this.#host.trust.members;
    if (directory !== undefined) {
      await directory.joined(memberKeyOf(this), fingerprint, this.ip).catch((error) =>
        this.#host.log.error("member_directory_failed", { name, error: errorText(error) })
      );
    }
    const chat = this.#host.chat;
    const joined = await chat.join(this, name, resume);
    handshake.joining = false;
    if (joined instanceof ProtocolError || this.#closed || chat.nameOf(this) === undefined) {
      directory?.left(memberKeyOf(this)).catch((error) =>
        this.#host.log.error("member_directory_failed", { name, error: errorText(error) })
      );
      this.fingerprint = undefined;
      this.#parser.setJoined(false);
      if (fresh) await owners.unclaim(name, fingerprint!);
      if (joined instanceof ProtocolError && !quietly && !this.#closed) this.#refuseName(joined);
      return;
    }
    this.#joined = true;
    // A joined member's `hello` and `auth` are refused before the gate: the handshake has done
    // its work. Kept, it would be the largest part of an idle member (the gate's view of the
    // session alone is ~1 KB).
    this.#handshake = null;
    this.#mute = this.isOp ? undefined : this.#host.trust.moderation.muteOf(fingerprint ?? this.ip);
    if (this.#errors !== null) this.#errors.limit = JOINED_ERROR_LIMIT;
    this.#host.log.info("join", {
      name,
      peer: this.peer,
      style: this.style,
      online: joined.online,
      ...(this.encrypted ? { tls: true } : {}),
      ...(fingerprint === undefined ? {} : { fingerprint }),
    });
  }

  /**
   * Joins a plain or raw client that sent no name under a guest name, says so, and takes its
   * first body as its first message. A guest name someone took meanwhile is skipped.
   */
  /**
   * Whether an identity (or a client without one) may join: `banned` while a ban of it is in
   * force, `not_allowed` when the server has an allowlist without it. Operators always may.
   * (A banned address never gets this far: the listener refuses it at once.)
   */
  #admission(fingerprint: string | undefined): ProtocolError | undefined {
    const trust = this.#host.trust;
    if (trust.moderation.isOp(fingerprint)) return undefined;
    const ban = fingerprint === undefined ? undefined : trust.moderation.banOf(fingerprint);
    if (ban !== undefined) return banRefusal(ban);
    if (trust.allow !== undefined && !trust.allow.allows(fingerprint)) {
      return new ProtocolError(
        "not_allowed",
        fingerprint === undefined
          ? "This server admits only the identities on its list: join with 'chat join' (which " +
            "proves one) and send its fingerprint to the server's operator"
          : `This server admits only the identities on its list, and yours (${fingerprint}) is ` +
            `not on it: send that fingerprint to the server's operator to be added`,
      );
    }
    return undefined;
  }

  async #joinAsGuest(text: string): Promise<void> {
    const chat = this.#host.chat;
    for (let attempt = 0; attempt < GUEST_ATTEMPTS && !this.#closed; attempt++) {
      // Names this node's members hold are skipped at once; others are found by the broker.
      // A guest name is never one an identity owns: the join refuses it quietly, and the next
      // is tried.
      const name = this.#host.guestNames.next((candidate) => chat.isLocalName(candidate));
      await this.#join(name, true);
      if (this.#joined) break;
    }
    if (!this.#joined) return;
    this.info([`* you are ${this.name}; choose a name with /nick NAME`]);
    const command = parseTextInput(text);
    if (command.kind === "invalid") return this.#refuseEvent(command.error);
    const result = this.#run(command);
    if (result instanceof Promise) await result;
  }

  // ---- command context ----

  /**
   * Relays a chat message or action from this member to its room. The next command does not
   * wait for it (the broker keeps one member's publishes in order): one `then` for the log is
   * all it costs beyond the publish.
   */
  say(raw: string, kind: "say" | "me"): void {
    if (this.#refusedAsMuted()) return;
    const text = sanitizeText(raw);
    if (isBlank(text)) return;
    this.#host.chat.say(this, text, kind)?.then(({ event }) => {
      if (event.type === "message") {
        this.#host.log.message({ from: event.from, id: event.id, kind, text });
      }
    }, (error) =>
      // A cluster node cut off from Redis that holds all it may for it refuses, and says so.
      error instanceof BrokerUnavailableError
        ? this.#refuseEvent(new ProtocolError("rate_limited", error.message))
        : this.#internalError(error));
  }

  /** Sends a private message from this member. */
  directMessage(to: string, raw: string): void | Promise<void> {
    if (this.#refusedAsMuted()) return;
    const text = sanitizeText(raw);
    if (isBlank(text)) return;
    return this.#host.chat.dm(this, to, text).then((result) => {
      if (result instanceof ProtocolError) return this.#refuseEvent(result);
      this.#host.log.message({ from: result.from, to: result.to, id: result.id, kind: "dm", text });
    });
  }

  /** Refuses a message while this member is muted; true when it did. */
  #refusedAsMuted(): boolean {
    const mute = this.#mute;
    if (mute === undefined) return false;
    if (mute.until !== undefined && mute.until <= Date.now()) {
      this.#mute = undefined;
      return false;
    }
    // Sent without spending the error budget: flood control already bounds a muted talker.
    this.#send({
      type: "error",
      code: "muted",
      message: `You are muted ${
        mute.until === undefined ? "until an operator lifts it" : `until ${iso(mute.until)}`
      }: that message was not sent`,
    });
    return true;
  }

  /**
   * Sets or lifts this member's mute (an operator's `/mute` or `/unmute`).
   *
   * @param mute the mute, or undefined to lift it
   */
  setMute(mute: Mute | undefined): void {
    this.#mute = mute;
  }

  /**
   * Tells this member what an operator did to it, and closes it for a kick or a ban.
   *
   * @param event the `mod` event
   * @param close `kicked` or `banned` to disconnect it
   */
  moderated(event: ModNoticeEvent, close?: "kicked" | "banned"): void {
    if (close === undefined) return this.#send(event);
    this.close(close, { notice: event });
  }

  /** Carries out an operator's command (see `server/moderator.ts`). */
  moderate(request: ModRequest): Promise<void> {
    return moderate(this, this.#host, request).then((refused) => {
      if (refused !== undefined) this.#refuseEvent(refused);
    });
  }

  /**
   * Sends this member one event (an operator's acknowledgement, a list of bans).
   *
   * @param event the event
   */
  notify(event: ServerEvent): void {
    this.#send(event);
  }

  /** Renames this member; a name another identity owns is refused. */
  rename(raw: string): void | Promise<void> {
    const result = validateName(raw);
    if (!result.ok) return this.#refuseEvent(result.error);
    return this.#rename(result.name);
  }

  /** Renames this member to a valid name: claimed first when it has an identity (as a join). */
  async #rename(name: string): Promise<void> {
    const old = this.name;
    const owners = this.#host.trust.owners;
    const fingerprint = this.fingerprint;
    let fresh = false;
    if (fingerprint === undefined) {
      const owned = await owners.refusal(name, undefined);
      if (owned !== undefined) return this.#refuseEvent(owned);
    } else {
      const claim = await owners.claim(name, fingerprint);
      if (!claim.granted) return this.#refuseEvent(claim.refusal);
      fresh = claim.fresh;
    }
    const refused = await this.#host.chat.rename(this, name);
    if (refused !== undefined) {
      if (fresh) await owners.unclaim(name, fingerprint!);
      return this.#refuseEvent(refused);
    }
    if (old === name) return;
    if (fingerprint !== undefined && old !== undefined && nameKey(old) !== nameKey(name)) {
      await owners.release(old, fingerprint);
    }
    this.#host.log.info("nick", { from: old, to: name });
  }

  /** Sends this member what is known of one member's identity. */
  whois(name: string): Promise<void> {
    return this.#host.chat.whois(this, name).then((refused) => {
      if (refused !== undefined) this.#refuseEvent(refused);
    });
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
      join: (name, fingerprint) => {
        const handshake = this.#handshake;
        const joining = this.#join(name, false, fingerprint, handshake?.resume);
        if (handshake !== null) handshake.gateJoin = joining;
        // A join the gate starts later (after the key's signature was checked) is no item's
        // result: what the client sends once welcomed waits for it, not refused as not joined.
        // (With a durable broker the join notice waits for its batch, so the wait is a tick.)
        if (handshake?.inGate !== true && this.#pending === null) {
          this.#holdInbound(joining.catch((error) => this.#internalError(error)));
        }
      },
      checkPassword: (given, then) => this.checkPassword(given, then),
    };
  }

  /** Sends this member the names in its room. */
  who(): Promise<void> {
    return this.#host.chat.who(this);
  }

  /** Sends this member the list of rooms. */
  rooms(): Promise<void> {
    return this.#host.chat.rooms(this);
  }

  /** Moves this member to a room. */
  move(room: string): Promise<void> {
    const from = this.room;
    return this.#host.chat.move(this, room).then((refused) => {
      if (refused !== undefined) return this.#refuseEvent(refused);
      const to = this.room;
      if (to !== from) this.#host.log.info("move", { name: this.name, from, to });
    });
  }

  /** Sends this member informational lines (text clients only). */
  info(lines: readonly string[]): void {
    if (this.style !== "json") this.#sendBytes(encodeInfo(lines, this.style));
  }

  /** Leaves cleanly. */
  quit(): void {
    this.close("quit");
  }

  // ---- output and errors ----

  #send(event: ServerEvent): void {
    if (this.#joined && !this.#closed) this.#host.delivery.send(this, event);
    else this.#connection.send(encodeFor(event, this.style));
  }

  #sendBytes(bytes: Uint8Array): void {
    if (this.#joined && !this.#closed) this.#host.delivery.sendBytes(this, bytes);
    else this.#connection.send(bytes);
  }

  #refuseName(error: ProtocolError): void {
    this.#send({ type: "error", code: error.code, message: error.message });
    if (this.style !== "json") this.#sendBytes(encodeInfo(["name?"], this.style));
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
    if (!this.quiet) this.#host.log.info("client_error", { peer: this.peer, code, closing: true });
    this.close(reason, { notice: { type: "error", code, message } });
  }

  #internalError(error: unknown): void {
    this.#host.log.error("internal_error", { peer: this.peer, error: errorText(error) });
    this.close("error");
  }
}

/**
 * What a connection needs only until it has joined: the hello gate, the handshake deadline, a
 * refusal, the password step, a join under way, whether it is logged. The session drops it on
 * joining, so an idle member does not carry it (twelve fields, and the box of a time).
 */
class _Handshake {
  /** The `hello`-to-join steps (made on the first JSON `hello`). */
  gate: HelloGate | null = null;
  /** Where the client of the last `hello` was (`hello.resume`), for the join that follows. */
  resume: ResumePoint | undefined = undefined;
  /** The join the hello gate started during the current item, for the item to wait on. */
  gateJoin: Promise<void> | null = null;
  /** True while the gate handles an item: a join it starts then is that item's result. */
  inGate = false;
  /** When the handshake deadline started (the connection, or the greeting). */
  connectedAt: number;
  /** True once the connection was sent the greeting (it had been silent). */
  greeted = false;
  /** A refused connection (server full) is read only until its framing is known. */
  refusal: ProtocolError | undefined = undefined;
  /** The wait before this connection's password is checked (its address guessed before). */
  passwordTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** A text client's name, kept while it is asked `password?`. */
  nameBeforePassword: string | undefined = undefined;
  /** A text client has sent the right password (its name may still be refused). */
  passwordProved = false;
  /** A join under way (the broker is asked whether the name is free). */
  joining = false;
  /** Nothing of this connection is logged: a refused one (see `Session.refuse`). */
  quiet = false;

  constructor(connectedAt: number) {
    this.connectedAt = connectedAt;
  }
}

/** How many guest names a client tries before it gives up (others took them meanwhile). */
const GUEST_ATTEMPTS = 100;

/**
 * Is an item one the next must wait for? Everything but chat messages is: a join, a move or a
 * rename changes what follows, and an answer (`who`, a dm's echo) must come before the echo of
 * a message sent after it. Messages alone go through without waiting: the broker keeps one
 * member's publishes in order, and they are the traffic that matters.
 */
function isBarrier(item: Inbound): boolean {
  return !(item.kind === "command" && (item.command.kind === "say" || item.command.kind === "me"));
}

/**
 * A peer's address for display.
 *
 * @param ip the normalised IP address
 * @param port the port
 * @returns `ip:port`, with an IPv6 address in brackets
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { peerAddress } from "./session.ts";
 * assert.equal(peerAddress("::1", 5050), "[::1]:5050");
 * ```
 */
export function peerAddress(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The refusal of a banned identity or address: until when, and why.
 *
 * @param ban the ban in force
 * @returns the `banned` error
 */
export function banRefusal(ban: Ban): ProtocolError {
  const until = ban.until === undefined ? "until an operator lifts it" : `until ${iso(ban.until)}`;
  const why = ban.reason === undefined ? "" : ` (${ban.reason})`;
  return new ProtocolError(
    "banned",
    `${ban.kind === "address" ? "Your address is" : "You are"} banned from this server ${until}` +
      `${why}: ask its operators if you think this is a mistake`,
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
