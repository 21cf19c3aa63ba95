/**
 * A stay in the chat, across connections: connect, join under a name (again and again if the
 * name is refused), keep the connection alive, and when it is lost reconnect with backoff, join
 * under the same name and drop replayed messages already seen. Shared by the interactive and
 * the piped client; it has no terminal in it.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { VERSION } from "../flags/version.ts";
import type {
  ClientEvent,
  ModNoticeEvent,
  ResumePoint,
  ServerEvent,
  ServerLimits,
  WelcomeEvent,
} from "../protocol/events.ts";
import { describeMod } from "../protocol/text_render.ts";
import { PROTOCOL_VERSION } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { utf8Length } from "../protocol/utf8.ts";
import { backoffDelay } from "./backoff.ts";
import {
  type ChatConnection,
  ConnectError,
  type Dialer,
  openConnection,
  type Transport,
} from "./connection.ts";
import type { Identity } from "./identity.ts";
import { dialSecurely, type Security, TrustError, type TrustSettings } from "./secure_dial.ts";

/** The `limits` assumed until a server announces its own. */
export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  maxMessageBytes: 4096,
  rateBurst: 10,
  ratePerSecond: 5,
  pingIntervalSeconds: 30,
  idleTimeoutSeconds: 75,
});

/** How long to wait for `welcome` after `hello`, in milliseconds. */
export const JOIN_TIMEOUT_MS = 10_000;

/** Ids of the client's own pings start with this; their pongs are not passed on. */
export const OWN_PING_PREFIX = "chat-join-";

/** How many message ids are remembered to drop replays. */
const _SEEN_LIMIT = 20_000;

/** A change in the session's connection, for the user interface to report. */
export type SessionStatus =
  | { readonly type: "lost"; readonly reason: string }
  | { readonly type: "reconnecting"; readonly attempt: number; readonly delayMs: number }
  | { readonly type: "connecting"; readonly attempt: number }
  | { readonly type: "retry_failed"; readonly reason: string }
  | { readonly type: "reconnected"; readonly name: string }
  | { readonly type: "security"; readonly security: Security };

/** Receives what happens in a session. Called synchronously, in order. */
export interface SessionHandlers {
  /**
   * Events to show: everything the server sent after `welcome` (included), except `ping`,
   * pongs to the client's own pings, and replayed messages already shown.
   */
  events(batch: readonly ServerEvent[]): void;
  /** A connection change. */
  status(status: SessionStatus): void;
}

/** Options of a {@linkcode ChatSession}. */
export interface SessionOptions {
  /** The server's host (IPv6 without brackets). */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** Reconnect when the connection is lost after joining. */
  readonly reconnect: boolean;
  /** Opens transports (default: TCP). */
  readonly dial?: Dialer;
  /** Connect timeout in milliseconds (default 5000). */
  readonly connectTimeoutMs?: number;
  /** The wait before reconnect attempt `n` (default {@linkcode backoffDelay}). */
  readonly backoff?: (attempt: number) => number;
  /**
   * TLS and pins (see `client/secure_dial.ts`); without it, plain TCP through `dial`, as the
   * tests of the session itself use.
   */
  readonly trust?: TrustSettings;
  /** The identity proved at `hello`; without it, the session joins without a key. */
  readonly identity?: Identity;
  /** The server's password, sent in `hello`. */
  readonly password?: string;
  /**
   * Every server of a cluster to try, in order (`chat join HOST1,HOST2`); the first is `host`
   * and `port`. A lost connection is taken up again on the next one that answers.
   */
  readonly servers?: readonly ServerAddress[];
}

/** One server of a cluster. */
export interface ServerAddress {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/**
 * The session options a front end (interactive or piped) passes on from its own options.
 *
 * @param options the front end's options
 * @returns the same settings as {@linkcode SessionOptions}, optional ones only when given
 */
export function sessionOptionsOf(
  options: Pick<
    SessionOptions,
    | "host"
    | "port"
    | "reconnect"
    | "dial"
    | "backoff"
    | "trust"
    | "identity"
    | "servers"
    | "password"
  >,
): SessionOptions {
  return {
    host: options.host,
    port: options.port,
    reconnect: options.reconnect,
    ...(options.servers === undefined ? {} : { servers: options.servers }),
    ...(options.dial === undefined ? {} : { dial: options.dial }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    ...(options.trust === undefined ? {} : { trust: options.trust }),
    ...(options.identity === undefined ? {} : { identity: options.identity }),
    ...(options.password === undefined ? {} : { password: options.password }),
  };
}

/** How a session ended. */
export type SessionEnd =
  | { readonly reason: "quit" }
  | { readonly reason: "lost"; readonly message: string };

/**
 * Refusals that retrying cannot change (a wrong or missing password, a ban, an allowlist
 * without this identity): a reconnecting session stops at them and says why.
 */
export const REFUSALS_FOR_GOOD: ReadonlySet<string> = new Set([
  "bad_password",
  "banned",
  "not_allowed",
]);

/** The error codes that refuse a name but let the client try another. */
export type NameRefusal = "name_taken" | "bad_name" | "name_owned";

/**
 * The server refused the name in `hello` (`name_taken`, `bad_name`, or `name_owned` by another
 * identity); the same connection may try another.
 */
export class NameRefusedError extends Error {
  /** The server's error code. */
  readonly code: NameRefusal;

  /**
   * Makes the error from the server's answer.
   *
   * @param code the server's code
   * @param message the server's sentence
   */
  constructor(code: NameRefusal, message: string) {
    super(message);
    this.name = "NameRefusedError";
    this.code = code;
  }
}

/** The server refused to let the client join for another reason (such as `server_full`). */
export class JoinRefusedError extends Error {
  /** The server's error code, or `timeout` when no answer came. */
  readonly code: string;

  /**
   * Makes the error from the server's answer.
   *
   * @param code the server's code
   * @param message a sentence for a person
   */
  constructor(code: string, message: string, tlsPort?: number) {
    super(message);
    this.name = "JoinRefusedError";
    this.code = code;
    if (tlsPort !== undefined) this.tlsPort = tlsPort;
  }

  /** With `use_tls`: the TLS port the server named. */
  readonly tlsPort?: number;
}

/** The connection was lost before the server answered `hello`. */
export class ConnectionLostError extends Error {
  /**
   * Makes the error.
   *
   * @param reason why, in a few words
   */
  constructor(reason: string) {
    super(`The connection was lost before the server answered: ${reason}`);
    this.name = "ConnectionLostError";
  }
}

interface _PendingJoin {
  resolve(welcome: WelcomeEvent): void;
  reject(error: Error): void;
}

/**
 * One user's stay in a chat room, reconnecting as needed.
 *
 * Use: {@linkcode ChatSession.connect} (throws a `ConnectError` that names the address), then
 * {@linkcode ChatSession.join} with a name (throws {@linkcode NameRefusedError} for a taken or
 * bad name: call it again with another), then {@linkcode ChatSession.send}; end with
 * {@linkcode ChatSession.quit}. {@linkcode ChatSession.ended} resolves when the session is over.
 *
 * @example Join, say hello, quit (needs a server on port 5050)
 * ```ts ignore
 * import { ChatSession } from "./session.ts";
 * const session = new ChatSession({ host: "localhost", port: 5050, reconnect: false }, {
 *   events: (batch) => console.log(batch),
 *   status: (status) => console.log(status),
 * });
 * await session.connect();
 * await session.join("alice");
 * session.send({ type: "say", text: "hello" });
 * await session.quit();
 * ```
 */
export class ChatSession {
  #options: SessionOptions;
  #handlers: SessionHandlers;
  #connection: ChatConnection | null = null;
  #loop: Promise<void> = Promise.resolve();
  #pending: _PendingJoin | null = null;
  #joined = false;
  #quitting = false;
  #name = "";
  /** The password sent in `hello` (from the options, or typed at the prompt). */
  #password: string | undefined;
  /** Operator status, from `welcome.op` and `mod` events. */
  #op = false;
  /** Why an operator removed this user (kicked, banned), once told, until the connection ends. */
  #removed: string | undefined;
  /** The room the user is in, when the server has rooms (`welcome.room`). */
  #room: string | undefined;
  #limits: ServerLimits = DEFAULT_LIMITS;
  #seen = new Set<string>();
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #pingCount = 0;
  #sleep: { timer: ReturnType<typeof setTimeout>; resolve(): void; until: number } | null = null;
  #joinWaiters: ((joined: boolean) => void)[] = [];
  /** The server address that answered last: reconnecting starts there. */
  #answered: ServerAddress | undefined;
  /** An address that accepted the last reconnection but did not let the user join. */
  #avoid: ServerAddress | undefined;
  /** The address and port being connected to (a `use_tls` moves to another port there). */
  #host: string;
  #port: number;
  /** Where this member is, to resume there after a reconnection without a hole. */
  #position: { room: string; epoch: string; after: number } | null = null;
  /** Whether the server resumes (`welcome.features` has `resume`). */
  #resumes = false;
  #ended = false;
  /** The name of the last `hello`, which the challenge answer signs. */
  #lastHelloName: string | undefined;
  /** What the current connection is (TLS or not), when the session has trust settings. */
  #security: Security | undefined;
  #resolveEnded!: (end: SessionEnd) => void;
  /** Resolves when the session is over: after a quit, or a loss without reconnecting. */
  readonly ended: Promise<SessionEnd>;

  /**
   * Makes a session; nothing is connected until {@linkcode ChatSession.connect}.
   *
   * @param options where to connect and whether to reconnect
   * @param handlers what to do with events and connection changes
   */
  constructor(options: SessionOptions, handlers: SessionHandlers) {
    this.#password = options.password;
    this.#options = options;
    this.#host = options.host;
    this.#port = options.port;
    this.#handlers = handlers;
    this.ended = new Promise((resolve) => this.#resolveEnded = resolve);
  }

  /** The current name: the one joined with, or the latest `/nick`. Empty before joining. */
  get name(): string {
    return this.#name;
  }

  /** The room the user is in, or undefined when the server has no rooms (or before joining). */
  get room(): string | undefined {
    return this.#room;
  }

  /** True while joined on a live connection. */
  get joined(): boolean {
    return this.#joined;
  }

  /** The limits the server announced (defaults until then). */
  get limits(): ServerLimits {
    return this.#limits;
  }

  /**
   * Opens a connection (closing any previous one) and starts reading from it.
   *
   * @throws {ConnectError} when the server cannot be reached
   */
  async connect(): Promise<void> {
    const candidates = await candidatesOf(
      this.#options.servers ?? [{ host: this.#options.host, port: this.#options.port }],
    );
    // Tried in turn from the one that answered last: when it is the one that went away, the
    // others come next, and a connection that comes back stays where it was. One that accepted
    // the connection but then did not let the user join (a frozen machine accepts and never
    // answers) is tried after all the others.
    const same = (a: ServerAddress, b: ServerAddress | undefined) =>
      a.host === b?.host && a.port === b.port;
    const start = Math.max(0, candidates.findIndex((c) => same(c, this.#answered)));
    const rotated = [...candidates.slice(start), ...candidates.slice(0, start)];
    const avoid = this.#avoid;
    this.#avoid = undefined;
    const order = [
      ...rotated.filter((c) => !same(c, avoid)),
      ...rotated.filter((c) => same(c, avoid)),
    ];
    let failure: unknown;
    for (const candidate of order) {
      this.#host = candidate.host;
      this.#port = candidate.port;
      try {
        await this.#connectTo(candidate.port, undefined);
        this.#answered = candidate;
        return;
      } catch (error) {
        if (!(error instanceof ConnectError) || this.#quitting) throw error;
        failure = error;
      }
    }
    throw failure;
  }

  /** What the current connection is, once connected with trust settings. */
  get security(): Security | undefined {
    return this.#security;
  }

  /** Connects to a port; `via` is the plain port a `use_tls` moved the client from. */
  async #connectTo(port: number, via: number | undefined): Promise<void> {
    this.#connection?.close();
    await this.#loop;
    const trust = this.#options.trust;
    let security: Security | undefined;
    const dial = trust === undefined ? this.#options.dial : async (host: string, at: number) => {
      const dialed: { transport: Transport; security: Security } = await dialSecurely(
        host,
        at,
        trust,
        via,
      );
      security = dialed.security;
      return dialed.transport;
    };
    const connection = await openConnection(this.#host, port, {
      ...(dial === undefined ? {} : { dial }),
      ...(this.#options.connectTimeoutMs === undefined
        ? {}
        : { timeoutMs: this.#options.connectTimeoutMs }),
    });
    if (this.#quitting) {
      connection.close();
      return;
    }
    this.#connection = connection;
    this.#security = security;
    // Said at once, so a fingerprint pinned is shown even if the join then fails; a plain
    // connection that may yet move to TLS is reported at welcome instead.
    if (security !== undefined && security.askTls !== true) {
      this.#handlers.status({ type: "security", security });
    }
    this.#loop = this.#read(connection);
  }

  /**
   * Joins the room: sends `hello` and waits for `welcome`. If the connection has closed since
   * {@linkcode ChatSession.connect} (say the server's handshake deadline passed while the user
   * typed a name), connects again first.
   *
   * @param name the name to join with
   * @returns the server's welcome
   * @throws {NameRefusedError} for a taken or invalid name; the session stays connected
   * @throws {JoinRefusedError} for another refusal, or no answer in time
   * @throws {ConnectError} when reconnecting fails
   */
  async join(name: string): Promise<WelcomeEvent> {
    let moved = false;
    for (let attempt = 0;; attempt++) {
      if (this.#connection === null || this.#connection.closed) await this.connect();
      try {
        return await this.#hello(name);
      } catch (error) {
        if (error instanceof ConnectionLostError && attempt === 0 && !this.#quitting) continue;
        // The plain port says where TLS is: move there before sending anything else. Once only,
        // and only when this session asked for it.
        if (
          error instanceof JoinRefusedError && error.code === "use_tls" &&
          error.tlsPort !== undefined && !moved && this.#security?.askTls === true
        ) {
          moved = true;
          await this.#connectTo(error.tlsPort, this.#port);
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * Sends an event on the current connection.
   *
   * @param event the event
   * @returns false when not joined (the event is not sent)
   * @throws {RangeError} when the event is larger than the server's message limit
   */
  send(event: ClientEvent): boolean {
    const json = this.#encode(event);
    if (!this.#joined || this.#connection === null) return false;
    return this.#connection.sendRaw(json);
  }

  /**
   * Checks that an event fits the server's message limit, without sending it (for a line that
   * is queued now and sent later).
   *
   * @param event the event
   * @throws {RangeError} when the event is larger than the server's message limit
   */
  checkSize(event: ClientEvent): void {
    this.#encode(event);
  }

  /**
   * While waiting to reconnect: tries now instead (or within `withinMs`, if the wait would
   * be longer). Does nothing while connected or while an attempt is already under way.
   *
   * @param withinMs the longest the next attempt may still wait (0: now)
   * @returns the wait now left before the next attempt in milliseconds, or null when the
   *   session is not waiting to reconnect
   */
  retryNow(withinMs = 0): number | null {
    const sleep = this.#sleep;
    if (sleep === null) return null;
    const left = Math.max(0, sleep.until - Date.now());
    if (left <= withinMs) return left;
    clearTimeout(sleep.timer);
    if (withinMs <= 0) {
      this.#sleep = null;
      sleep.resolve();
      return 0;
    }
    sleep.timer = setTimeout(() => {
      this.#sleep = null;
      sleep.resolve();
    }, withinMs);
    sleep.until = Date.now() + withinMs;
    return withinMs;
  }

  #encode(event: ClientEvent): string {
    const json = JSON.stringify(event);
    const bytes = utf8Length(json);
    if (bytes > this.#limits.maxMessageBytes) {
      throw new RangeError(
        `The message is too long for this server: it takes ${bytes} bytes to send and the ` +
          `limit is ${this.#limits.maxMessageBytes}`,
      );
    }
    return json;
  }

  /**
   * Waits until the session is joined on an open connection.
   *
   * @returns true once joined, false if the session ended first
   */
  whenJoined(): Promise<boolean> {
    if (this.#joined && this.#connection !== null && !this.#connection.closed) {
      return Promise.resolve(true);
    }
    if (this.#ended) return Promise.resolve(false);
    return new Promise((resolve) => this.#joinWaiters.push(resolve));
  }

  /**
   * Leaves: sends `bye` if joined, waits briefly for the server to close the connection (so
   * the goodbye is read before the socket goes), stops reconnecting and ends the session.
   *
   * @param waitMs how long to wait for the server to close, in milliseconds
   */
  async quit(waitMs = 2000): Promise<void> {
    if (this.#quitting) {
      await this.ended;
      return;
    }
    this.#quitting = true;
    this.#stopPing();
    if (this.#sleep !== null) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
    }
    const connection = this.#connection;
    if (connection !== null && !connection.closed) {
      if (this.#joined) {
        connection.send({ type: "bye" });
        await connection.drain(waitMs);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.#loop,
          new Promise<void>((resolve) => timer = setTimeout(resolve, waitMs)),
        ]);
        clearTimeout(timer);
      }
      connection.close("quit");
    }
    await this.#loop;
    this.#finish({ reason: "quit" });
  }

  #finish(end: SessionEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#joined = false;
    this.#stopPing();
    for (const waiter of this.#joinWaiters.splice(0)) waiter(false);
    this.#resolveEnded(end);
  }

  #hello(name: string): Promise<WelcomeEvent> {
    const connection = this.#connection!;
    this.#lastHelloName = name;
    return new Promise<WelcomeEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = null;
        reject(new JoinRefusedError("timeout", "The server did not answer the join in time"));
      }, JOIN_TIMEOUT_MS);
      this.#pending = {
        resolve: (welcome) => {
          clearTimeout(timer);
          resolve(welcome);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const at = this.#position;
      const resume: ResumePoint | undefined = this.#resumes && at !== null
        ? { room: at.room, after: at.after, epoch: at.epoch }
        : undefined;
      const identity = this.#options.identity;
      connection.send({
        type: "hello",
        name,
        protocol: PROTOCOL_VERSION,
        client: `chat-join/${VERSION}`,
        ...(resume === undefined ? {} : { resume }),
        ...(identity === undefined ? {} : { key: identity.publicKey }),
        ...(this.#security?.askTls === true ? { tls: true } : {}),
        ...(this.#password === undefined ? {} : { password: this.#password }),
        // In a large room, the joins and leaves of a moment come as one line, not one each. Servers
        // now summarise for every member; one from before that did so only when asked.
        summaries: true,
      });
    });
  }

  async #read(connection: ChatConnection): Promise<void> {
    for await (const batch of connection.batches()) {
      const shown: ServerEvent[] = [];
      for (const event of batch) this.#receive(connection, event, shown);
      if (shown.length > 0) this.#handlers.events(shown);
    }
    this.#closed(connection);
  }

  #receive(connection: ChatConnection, event: ServerEvent, shown: ServerEvent[]): void {
    if (event.type === "ping") {
      connection.send(event.id === undefined ? { type: "pong" } : { type: "pong", id: event.id });
      return;
    }
    const pending = this.#pending;
    if (pending !== null) {
      if (event.type === "welcome") {
        this.#pending = null;
        this.#welcomed(event);
        shown.push(event);
        pending.resolve(event);
      } else if (event.type === "challenge") {
        this.#answer(connection, event.nonce, pending);
      } else if (event.type === "error") {
        this.#pending = null;
        if (
          event.code === "name_taken" || event.code === "bad_name" || event.code === "name_owned"
        ) {
          pending.reject(new NameRefusedError(event.code, event.message));
        } else {
          pending.reject(new JoinRefusedError(event.code, event.message, event.tlsPort));
        }
      }
      return;
    }
    if (!this.#joined) return;
    if (event.type === "mod") this.#moderated(event);
    if (event.type === "pong" && typeof event.id === "string") {
      if (event.id.startsWith(OWN_PING_PREFIX)) return;
    }
    if (event.type === "message" || event.type === "dm") {
      // Ids are per room (a dm takes one from a room it does not name), so the same id and time
      // can stand for two events of different rooms in one millisecond.
      const where = event.type === "message" ? event.room ?? "" : `dm ${event.from} ${event.to}`;
      const key = `${where}|${event.id}|${event.ts}`;
      if (this.#seen.has(key)) return;
      this.#seen.add(key);
      // A message a cluster node showed while cut off from Redis (pending, a provisional id)
      // comes back with its final id and the same time on a later resume: shown once.
      const said = `${where}|${event.from}|${event.ts}|${event.text}`;
      if (event.pending === true) this.#seen.add(said);
      else if (this.#seen.has(said)) return;
      if (this.#seen.size > _SEEN_LIMIT) {
        const oldest = this.#seen.values().next().value;
        if (oldest !== undefined) this.#seen.delete(oldest);
      }
    }
    if (event.type === "nick" && nameKey(event.from) === nameKey(this.#name)) {
      this.#name = event.to;
    }
    if (event.type === "moved") this.#room = event.room;
    this.#track(event);
    shown.push(event);
  }

  /**
   * Follows the room, its epoch and the last message id, for a resume. A pending message's id
   * is provisional: resuming after it could skip what other servers said meanwhile.
   */
  #track(event: ServerEvent): void {
    if (event.type === "welcome" || event.type === "moved") {
      const room = event.room;
      this.#position = room === undefined || event.epoch === undefined ? null : {
        room,
        epoch: event.epoch,
        after: this.#position?.room === room ? this.#position.after : 0,
      };
    } else if (
      event.type === "message" && this.#position !== null && event.room === this.#position.room &&
      event.id > this.#position.after && event.pending !== true
    ) {
      this.#position.after = event.id;
    }
  }

  /** Signs a challenge with the identity and sends the answer. */
  #answer(connection: ChatConnection, nonce: string, pending: _PendingJoin): void {
    const identity = this.#options.identity;
    if (identity === undefined || this.#lastHelloName === undefined) {
      this.#pending = null;
      pending.reject(
        new JoinRefusedError("bad_auth", "The server asked for a key this client has not offered"),
      );
      return;
    }
    identity.sign(nonce, this.#lastHelloName).then(
      (signature) => connection.send({ type: "auth", signature }),
      (error) => {
        this.#pending = null;
        pending.reject(new JoinRefusedError("bad_auth", `Could not sign the challenge: ${error}`));
      },
    );
  }

  #welcomed(welcome: WelcomeEvent): void {
    this.#op = welcome.op === true;
    // A plain connection that asked for TLS and was not moved: it is final now.
    if (this.#security?.askTls === true) {
      this.#handlers.status({ type: "security", security: this.#security });
    }
    this.#name = welcome.name;
    this.#room = welcome.room;
    this.#resumes = welcome.features?.includes("resume") ?? false;
    this.#track(welcome);
    this.#limits = { ...DEFAULT_LIMITS, ..._numbers(welcome.limits) };
    this.#joined = true;
    this.#startPing();
    for (const waiter of this.#joinWaiters.splice(0)) waiter(true);
  }

  /** Notes what an operator did to this user: operator status, or why it is being removed. */
  #moderated(event: ModNoticeEvent): void {
    if (nameKey(event.target) !== nameKey(this.#name) || event.by === this.#name) return;
    if (event.action === "op") this.#op = true;
    else if (event.action === "deop") this.#op = false;
    else if (event.action === "kick" || event.action === "ban") {
      this.#removed = describeMod(event, this.#name).replace(/^\* /, "");
    }
  }

  /**
   * Sets the password the next `hello` sends (the interactive client asks for it after a
   * `bad_password`).
   *
   * @param password the password
   */
  setPassword(password: string): void {
    this.#password = password;
  }

  /** True while the server says this user is an operator (`welcome.op`, `mod` op/deop). */
  get isOp(): boolean {
    return this.#op;
  }

  #closed(connection: ChatConnection): void {
    if (this.#connection === connection) this.#connection = null;
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      pending.reject(
        connection.notChatServer
          ? new JoinRefusedError("not_chat_server", connection.closeReason)
          : new ConnectionLostError(connection.closeReason),
      );
    }
    const wasJoined = this.#joined;
    this.#joined = false;
    this.#stopPing();
    if (this.#quitting || !wasJoined) return;
    const removed = this.#removed;
    if (removed !== undefined) {
      // Kicked or banned: reconnecting would undo an operator's decision, so the session ends.
      this.#removed = undefined;
      this.#handlers.status({ type: "lost", reason: removed });
      this.#finish({ reason: "lost", message: removed });
      return;
    }
    this.#handlers.status({ type: "lost", reason: connection.closeReason });
    if (!this.#options.reconnect) {
      this.#finish({ reason: "lost", message: connection.closeReason });
      return;
    }
    this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    const backoff = this.#options.backoff ?? ((attempt: number) => backoffDelay(attempt));
    for (let attempt = 0; !this.#quitting; attempt++) {
      const delayMs = backoff(attempt);
      this.#handlers.status({ type: "reconnecting", attempt, delayMs });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#sleep = null;
          resolve();
        }, delayMs);
        this.#sleep = { timer, resolve, until: Date.now() + delayMs };
      });
      this.#sleep = null;
      if (this.#quitting) return;
      this.#handlers.status({ type: "connecting", attempt });
      try {
        await this.connect();
        if (this.#quitting) return;
        const room = this.#room;
        const welcome = await this.join(this.#name);
        // Every member lands in #main: go back to the room the user was in, as IRC clients do.
        if (room !== undefined && welcome.room !== undefined && room !== welcome.room) {
          this.send({ type: "room", name: room });
        }
        this.#handlers.status({ type: "reconnected", name: this.#name });
        return;
      } catch (error) {
        if (this.#quitting) return;
        this.#connection?.close();
        if (
          error instanceof TrustError ||
          (error instanceof JoinRefusedError && REFUSALS_FOR_GOOD.has(error.code))
        ) {
          // A changed certificate does not get better by retrying: stop and say so.
          this.#handlers.status({ type: "lost", reason: error.message });
          this.#finish({ reason: "lost", message: error.message });
          return;
        }
        // Connected, but not joined (no answer in time, the name not free yet): the next attempt
        // tries the other addresses first.
        if (!(error instanceof ConnectError)) this.#avoid = this.#answered;
        this.#handlers.status({
          type: "retry_failed",
          reason: error instanceof ConnectError
            ? error.reason
            : error instanceof Error
            ? error.message
            : String(error),
        });
      }
    }
  }

  #startPing(): void {
    this.#stopPing();
    const seconds = Math.min(60, Math.max(5, this.#limits.pingIntervalSeconds));
    const intervalMs = seconds * 1000;
    this.#pingTimer = setInterval(() => {
      const connection = this.#connection;
      if (connection === null || connection.closed) return;
      const silence = Date.now() - connection.lastReceived;
      if (silence >= 2 * intervalMs + 5000) {
        connection.close("no answer from the server");
      } else if (silence >= intervalMs) {
        connection.send({ type: "ping", id: `${OWN_PING_PREFIX}${++this.#pingCount}` });
      }
    }, intervalMs);
  }

  #stopPing(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }
}

/** The numeric fields of announced limits, ignoring anything else. */
function _numbers(limits: ServerLimits): Partial<ServerLimits> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value === "number" && Number.isFinite(value) && value > 0) out[key] = value;
  }
  return out as Partial<ServerLimits>;
}

/** How long resolving one host name may take before it is dialed by name instead. */
const RESOLVE_TIMEOUT_MS = 3000;

/**
 * The addresses of a host, as the system resolves it (`/etc/hosts`, then DNS: IPv4 and IPv6
 * alike, in the system's order): an IP address is its own; a name that does not resolve here
 * (or not within {@linkcode RESOLVE_TIMEOUT_MS}) is given back as it is, and the connection
 * attempt then says why.
 *
 * @param host a host name or IP address (IPv6 without brackets)
 * @returns the addresses, without repeats
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressesOf } from "./session.ts";
 * assert.deepEqual(await addressesOf("::1"), ["::1"]);
 * assert.deepEqual(await addressesOf("127.0.0.1"), ["127.0.0.1"]);
 * ```
 */
export async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const found = await Promise.race([
      lookup(host, { all: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out")), RESOLVE_TIMEOUT_MS);
      }),
    ]);
    const addresses = [...new Set(found.map((entry) => entry.address))];
    return addresses.length > 0 ? addresses : [host];
  } catch {
    return [host];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every address to connect to, in order: each server given (`chat join HOST1,HOST2`) at every
 * address its name has, since a DNS name with several addresses is a cluster too. Those are
 * dialed (and their certificates pinned) by address, as the nodes of a cluster each have their
 * own; a name with one address is dialed by its name, so that its pin and the screen keep it.
 *
 * @param servers the servers, as given
 * @returns the addresses to try
 */
export async function candidatesOf(servers: readonly ServerAddress[]): Promise<ServerAddress[]> {
  const candidates: ServerAddress[] = [];
  for (const server of servers) {
    const addresses = await addressesOf(server.host);
    for (const host of addresses.length > 1 ? addresses : [server.host]) {
      candidates.push({ host, port: server.port });
    }
  }
  return candidates;
}
