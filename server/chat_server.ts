/**
 * The listener: accepts connections, applies the connection limits, runs a session for each,
 * checks their deadlines, and shuts everything down in order.
 *
 * @module
 */

import { ProtocolError } from "../protocol/errors.ts";
import type { ClusterStatus, ServerEvent, ServerLimits } from "../protocol/events.ts";
import type { ServeConfig } from "./config.ts";
import { type Logger, SILENT_LOGGER } from "./log.ts";
import { IDLE_GC_CHECK_MS, IdleGc, memoryReducingGc } from "./idle_gc.ts";
import { Chat } from "../core/chat.ts";
import type { Broker } from "../core/broker.ts";
import { InProcessBroker } from "../core/in_process_broker.ts";
import { NodeDelivery } from "./delivery.ts";
import { GuestNames } from "./guest_names.ts";
import { CLOSE_FLUSH_MS, Session, type SessionHost, type SessionLimits } from "./session.ts";
import { Database, MEMORY } from "../store/database.ts";
import { MessageStore, RETENTION_BATCH } from "../store/message_store.ts";
import type { LastSeen } from "../core/chat.ts";
import { type ServerCertificate, serverCertificate } from "./certificate.ts";
import { NameOwners } from "./identity.ts";
import type { SharedTrust, Trust } from "./trust.ts";
import { GuardedTlsConn } from "./tls_conn.ts";
import { AllowList } from "./allow_list.ts";
import { DatabaseModerationStore, Moderation } from "./moderation.ts";
import { applyAct } from "./moderator.ts";
import { PasswordGuard } from "./password_guard.ts";
import { banRefusal } from "./session.ts";

/** How long the accept loop waits after its first failure; it doubles up to a second. */
const ACCEPT_BACKOFF_MIN_MS = 10;
const ACCEPT_BACKOFF_MAX_MS = 1000;
/** When retention first runs after start, between its batches, and when it has caught up. */
const RETENTION_FIRST_MS = 2000;
const RETENTION_NEXT_MS = 50;
const RETENTION_IDLE_MS = 60_000;
/** Connections being refused at once (read until their framing is known, then told). */
const MAX_REFUSING = 256;
/**
 * How many connections an accept loop (one per listener) takes before it lets the event loop
 * turn (a `setTimeout(0)`, about 2 ms when nothing else is due), so that a flood of new
 * connections cannot crowd out the members already here.
 *
 * Deno serves the sockets' operations that had to wait from one queue, in arrival order, a batch
 * per turn of the event loop, while an `accept` that finds a connection waiting completes at
 * once. A flood that opens connections as fast as it can (condition 15 of the adversarial suite:
 * 10,000 connections of fuzzed bytes, 50 at a time) therefore queued several socket operations
 * per stranger (its read, its end, the close) faster than a CPU-starved server served them, and
 * a member's read waited behind all of them: on a machine with a load average of 6 to 8 on 2
 * cores, a member's 100-byte message sat unread in the kernel's receive queue for 3.1 s while the
 * event loop itself never stalled more than 750 ms, and bystanders saw 2.5 to 3.9 s of delay.
 * Taking at most this many per turn bounds the strangers' share of each turn; the rest wait in
 * the kernel's listen backlog (511), where they cost the members nothing, and once that is full
 * the kernel drops their SYNs and the flood slows itself down. On a quiet machine the bound is
 * about 7,000 connections a second, above what a join storm of the benchmark needs (5000 frame64
 * clients in about 1 s); under the same flood on the loaded machine the worst bystander delay
 * fell to 120-680 ms. No limit is loosened: every connection accepted is checked as before.
 */
export const ACCEPTS_PER_TURN = 16;
/**
 * The greeting of a silent connection (PROTOCOL.md, "Greeting a silent connection") waits while
 * the server cannot tell silence from a hello it has not read yet. Deno hands a socket's data to
 * JavaScript from a queue, a batch per turn of the event loop, so in a join storm a hello can sit
 * read by the kernel but not by the session for seconds, and a framed client greeted in text
 * takes the greeting for a broken frame and leaves. Two signs of that: a sweep that came more
 * than {@linkcode LATE_SWEEP_MS} late (the loop was busy) within the last
 * {@linkcode STEADY_BEFORE_GREETING_MS}, or more than {@linkcode MAX_UNHEARD_FOR_GREETING}
 * connections that nothing was read from yet (people at `nc` or `telnet` come a few at a time; a
 * storm comes in hundreds, and one address may hold no more than 32 by default, so one stranger
 * cannot hold the greeting back alone). The greeting then comes later, never lost: a person who
 * types a name without it joins as before.
 */
const LATE_SWEEP_MS = 50;
/** See {@linkcode LATE_SWEEP_MS}. */
const STEADY_BEFORE_GREETING_MS = 250;
/** See {@linkcode LATE_SWEEP_MS}. */
const MAX_UNHEARD_FOR_GREETING = 64;

/** Options of {@linkcode startServer}. */
export interface StartOptions {
  /** Where the log goes; silent by default. */
  readonly log?: Logger;
  /**
   * Whether to give memory back when the server goes quiet after a burst (see
   * `server/idle_gc.ts`); off by default, on for `chat serve`.
   */
  readonly idleGc?: boolean;
  /** Where the chat's shared state lives; an in-process broker by default. */
  readonly broker?: Broker;
  /** For a node of a cluster: what `welcome.cluster` says now. */
  readonly cluster?: () => ClusterStatus;
  /**
   * For a node of a cluster: the owned names, operators' decisions and member directory the
   * nodes share (else owned names and decisions are kept in the database).
   */
  readonly shared?: SharedTrust;
}

/** The TLS side of a server: its listener and the certificate it serves. */
export interface TlsEndpoint {
  /** The TLS listener. */
  readonly listener: Deno.TlsListener;
  /** The certificate served. */
  readonly certificate: ServerCertificate;
}

/** What a {@linkcode ChatServer} keeps beyond its plain listener. */
export interface ServerParts {
  /** The TLS listener, when TLS is on. */
  readonly tls?: TlsEndpoint | undefined;
  /** The database; an in-memory one when absent. The server closes it when it stops. */
  readonly database?: Database;
  /** Where the chat's shared state lives; an in-process broker by default. */
  readonly broker?: Broker;
  /** The allowlist (`--allow`), already read; the server watches and closes it. */
  readonly allow?: AllowList;
  /** For a node of a cluster: what `welcome.cluster` says now. */
  readonly cluster?: (() => ClusterStatus) | undefined;
  /** For a node of a cluster: what the nodes share besides the chat. */
  readonly shared?: SharedTrust | undefined;
}

/**
 * Says whether something keyed by an address is due to be logged again: at most once per
 * `intervalMs` per key, remembering at most `capacity` keys (the oldest forgotten first).
 */
export class LogOncePer {
  #interval: number;
  #capacity: number;
  #last = new Map<string, number>();

  /**
   * @param intervalMs the least time between two log lines for one key
   * @param capacity the most keys remembered
   */
  constructor(intervalMs: number, capacity: number) {
    this.#interval = intervalMs;
    this.#capacity = capacity;
  }

  /**
   * @param key the address
   * @param now the time in milliseconds
   * @returns true when it should be logged now (and it is then counted as logged)
   */
  due(key: string, now = Date.now()): boolean {
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.#interval) return false;
    this.#last.delete(key);
    if (this.#last.size >= this.#capacity) {
      const oldest = this.#last.keys().next().value;
      if (oldest !== undefined) this.#last.delete(oldest);
    }
    this.#last.set(key, now);
    return true;
  }
}

/**
 * Normalises an IP address for per-address limits and display: IPv4-mapped IPv6 addresses
 * (`::ffff:1.2.3.4`, as a dual-stack listener reports IPv4 peers) become plain IPv4.
 *
 * @param address the address as the socket reports it
 * @returns the normalised address
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normaliseIp } from "./chat_server.ts";
 * assert.ok(normaliseIp("::ffff:127.0.0.1") === "127.0.0.1");
 * ```
 */
export function normaliseIp(address: string): string {
  return address.toLowerCase().startsWith("::ffff:") && address.includes(".")
    ? address.slice(7)
    : address;
}

/**
 * Tells whether an address is loopback (exempt from the per-address limit).
 *
 * @param ip a normalised address
 */
export function isLoopback(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.");
}

/**
 * A running chat server.
 */
export class ChatServer implements SessionHost {
  /** The chat core: names, rooms and commands. */
  readonly chat: Chat<Session>;
  /** How this server's members are sent their events. */
  readonly delivery: NodeDelivery;
  /** The limits every session enforces. */
  readonly limits: SessionLimits;
  /** The server log. */
  readonly log: Logger;
  /** TLS and identities, as sessions see them. */
  readonly trust: Trust;
  /** The server's database. */
  readonly database: Database;
  /** Where guest names come from. */
  readonly guestNames: GuestNames = new GuestNames();
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  #config: ServeConfig;
  #listener: Deno.TcpListener;
  #tls: TlsEndpoint | undefined;
  #sessions = new Set<Session>();
  /** When each banned address was last logged, so a retry loop does not flood the log. */
  #bannedLog = new LogOncePer(60_000, 1024);
  #perIp = new Map<string, number>();
  #refusing = 0;
  /** Connections accepted so far; the memory trim counts growth as activity. */
  #accepted = 0;
  /** TLS sockets of ended sessions that Deno has not released yet (see `server/tls_conn.ts`). */
  #lingering = new Set<GuardedTlsConn>();
  #guards = new Map<Session, GuardedTlsConn>();
  #sweeper: ReturnType<typeof setInterval>;
  /** How often the sweep runs, in milliseconds. */
  #sweepInterval: number;
  /** When the last sweep ran (`Date.now()`). */
  #lastSweepAt = Date.now();
  /** Since when every sweep has run on time: the event loop has kept up with its reads. */
  #steadySince = Date.now();
  #closing: Promise<void> | null = null;
  #acceptLoop: Promise<void>;
  #allClosed: (() => void) | null = null;
  /** The database's rooms and messages, when the server keeps them. */
  #messages: MessageStore | undefined;
  /** True while writes to the database fail (logged once, until they work again). */
  #storeFailing = false;
  #retention: ReturnType<typeof setTimeout> | undefined;
  /** Checks whether to give memory back (see `server/idle_gc.ts`), when that is on. */
  #idleGcTimer: ReturnType<typeof setInterval> | undefined;

  /** Use {@linkcode startServer}. */
  constructor(
    config: ServeConfig,
    listener: Deno.TcpListener,
    log: Logger,
    idleGc = false,
    parts: ServerParts = {},
  ) {
    this.#config = config;
    this.#listener = listener;
    this.#tls = parts.tls;
    this.log = log;
    this.database = parts.database ?? Database.open(":memory:");
    this.trust = {
      tlsPort: parts.tls?.listener.addr.port,
      tlsFingerprint: parts.tls?.certificate.fingerprint,
      owners: parts.shared?.owners ?? new NameOwners(this.database, { nameDays: config.nameDays }),
      password: config.password === undefined ? undefined : new PasswordGuard(config.password),
      allow: parts.allow,
      moderation: new Moderation(
        parts.shared?.moderation ?? new DatabaseModerationStore(this.database),
        { configOps: config.ops ?? [] },
      ),
      members: parts.shared?.members,
    };
    // What operators of other nodes do reaches this node's members at once.
    this.trust.moderation.onRemoteAct((act) => applyAct(this, act));
    parts.allow?.watch(() => this.#afterAllowReload());
    this.limits = {
      maxMessageBytes: config.maxMessageBytes,
      handshakeTimeoutMs: config.handshakeTimeout * 1000,
      frameTimeoutMs: config.frameTimeout * 1000,
      pingIntervalMs: config.pingInterval * 1000,
      idleTimeoutMs: config.idleTimeout * 1000,
      rateBurst: config.rateBurst,
      ratePerSecond: config.ratePerSecond,
      sendQueueBytes: config.sendQueueBytes,
      writeTimeoutMs: config.writeTimeout * 1000,
      rawPauseMs: config.rawPause * 1000,
      greetAfterMs: config.greetAfter * 1000,
    };
    const limits: ServerLimits = {
      maxMessageBytes: config.maxMessageBytes,
      rateBurst: config.rateBurst,
      ratePerSecond: config.ratePerSecond,
      pingIntervalSeconds: config.pingInterval,
      idleTimeoutSeconds: config.idleTimeout,
    };
    this.delivery = new NodeDelivery({ summaryMembers: config.summaryMembers });
    // With a data dir (and no other broker), rooms and messages live in the database: written
    // in batches by the in-process broker, and trimmed in the background.
    let broker = parts.broker;
    let lastSeen: LastSeen | undefined;
    if (broker === undefined && this.database.path !== MEMORY) {
      const store = new MessageStore(this.database);
      this.#messages = store;
      lastSeen = {
        get: (fingerprint, room) => store.lastSeen(fingerprint, room),
        set: (fingerprint, room, lastId, epoch) =>
          store.setLastSeen(fingerprint, room, lastId, epoch),
      };
      broker = InProcessBroker.create({
        // Memory holds a recent window per room; a resume further back reads the database.
        keepMessages: Math.max(config.history, 1),
        store,
        report: {
          failed: (error, waiting) => {
            if (!this.#storeFailing) {
              this.log.error("database_write_failed", {
                error: error instanceof Error ? error.message : String(error),
                waiting,
                note: "the chat goes on in memory; the write is tried again every second",
              });
            }
            this.#storeFailing = true;
          },
          recovered: (written) => {
            this.#storeFailing = false;
            this.log.info("database_write_recovered", { written });
          },
        },
      });
      this.#retention = setTimeout(() => this.#trim(), RETENTION_FIRST_MS);
    }
    this.chat = new Chat<Session>({
      broker: broker ?? InProcessBroker.create({ keepMessages: config.history }),
      lastSeen,
      historySize: config.history,
      maxRooms: config.maxRooms,
      serverName: config.serverName,
      limits,
      motd: config.motd,
      features: [
        "rooms",
        "identity",
        ...(parts.tls === undefined ? [] : ["tls"]),
        ...(config.summaryMembers > 0 ? ["presence"] : []),
      ],
      ...(parts.tls === undefined ? {} : { tls: parts.tls.certificate.fingerprint }),
      cluster: parts.cluster,
    }, this.delivery);
    const shortest = Math.min(
      this.limits.handshakeTimeoutMs,
      this.limits.frameTimeoutMs,
      this.limits.pingIntervalMs,
      this.limits.writeTimeoutMs,
      // The greeting is due on a sweep too; 0 turns it off.
      this.limits.greetAfterMs > 0 ? this.limits.greetAfterMs : Infinity,
    );
    const interval = Math.max(10, Math.min(250, shortest / 4));
    const collect = idleGc ? memoryReducingGc() : undefined;
    if (collect !== undefined) {
      const trimmer = new IdleGc({
        activity: () => this.#accepted,
        collect: () => {
          const before = Deno.memoryUsage();
          const started = performance.now();
          collect();
          const after = Deno.memoryUsage();
          this.log.info("memory_trim", {
            ms: Math.round(performance.now() - started),
            heap_mb_before: mb(before.heapTotal),
            heap_mb_after: mb(after.heapTotal),
            rss_mb_before: mb(before.rss),
            rss_mb_after: mb(after.rss),
            connections: this.#sessions.size,
          });
        },
      });
      this.#idleGcTimer = setInterval(() => trimmer.check(performance.now()), IDLE_GC_CHECK_MS);
    }
    this.#sweepInterval = interval;
    this.#sweeper = setInterval(() => this.#sweep(), interval);
    this.#acceptLoop = Promise.all([
      this.#accept(listener, false),
      ...(parts.tls === undefined ? [] : [this.#accept(parts.tls.listener, true)]),
    ]).then(() => {});
    this.finished = this.#acceptLoop.then(() => this.#closing ?? undefined);
  }

  /** Every open session (the listener's view, for bans of an address). */
  sessions(): Iterable<Session> {
    return this.#sessions;
  }

  /**
   * Reads the allowlist file again (on SIGHUP); members no longer on it are disconnected.
   *
   * @returns false when there is no allowlist or the file could not be used (the old list stays)
   */
  async reloadAllowList(): Promise<boolean> {
    const allow = this.trust.allow;
    if (allow === undefined) return false;
    const ok = await allow.reload();
    if (ok) this.#afterAllowReload();
    return ok;
  }

  /** Disconnects the members the allowlist no longer admits (operators always stay). */
  #afterAllowReload(): void {
    const allow = this.trust.allow;
    if (allow === undefined) return;
    for (const session of [...this.#sessions]) {
      if (session.name === undefined || session.isOp || allow.allows(session.fingerprint)) continue;
      this.log.info("mod", {
        by: "allowlist",
        action: "kick",
        target: session.name,
        reason: "not on the --allow list any more",
      });
      session.close("kicked", {
        notice: {
          type: "error",
          code: "not_allowed",
          message: "You were removed from this server's list of allowed identities: ask its " +
            "operator to add you back",
        },
      });
    }
  }

  /** The port the server listens on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** The TLS port, when the server listens for TLS. */
  get tlsPort(): number | undefined {
    return this.#tls?.listener.addr.port;
  }

  /** The certificate served on the TLS port, when there is one. */
  get certificate(): ServerCertificate | undefined {
    return this.#tls?.certificate;
  }

  /** The address the server listens on. */
  get hostname(): string {
    return this.#listener.addr.hostname;
  }

  /** How many connections are open. */
  get connections(): number {
    return this.#sessions.size;
  }

  /**
   * Shuts down: stops accepting, tells every client `shutdown`, lets their queues drain for up
   * to two seconds, and closes everything. Calling it again returns the same promise.
   *
   * @param message the text of the `shutdown` event
   */
  close(message = "The server is shutting down"): Promise<void> {
    this.#closing ??= this.#shutdown(message);
    return this.#closing;
  }

  async #shutdown(message: string): Promise<void> {
    for (const listener of [this.#listener, this.#tls?.listener]) {
      try {
        listener?.close();
      } catch {
        // Already closed.
      }
    }
    clearInterval(this.#sweeper);
    clearInterval(this.#idleGcTimer);
    this.trust.allow?.close();
    this.delivery.flush();
    const notice = { type: "shutdown", message } as const;
    const allClosed = new Promise<void>((resolve) => this.#allClosed = resolve);
    for (const session of [...this.#sessions]) {
      session.close("shutdown", { notice, announce: false });
    }
    if (this.#sessions.size === 0) this.#allClosed?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      allClosed,
      new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_FLUSH_MS + 500)),
    ]);
    clearTimeout(timer);
    await this.#acceptLoop;
    clearTimeout(this.#retention);
    await this.chat.close();
    this.database.close();
    this.log.info("stopped", { connections: this.#sessions.size });
  }

  /**
   * Lets every member go without telling the rooms, because the cluster has already told them
   * (this node was taken for lost): each is sent `notice` and the connection is closed, so a
   * client reconnects and resumes.
   *
   * @param notice what the members are told
   */
  dropMembers(notice: ServerEvent): void {
    for (const session of this.chat.forgetAll()) {
      session.close("shutdown", { notice, announce: false });
    }
  }

  /**
   * Sends one event to every member of this node (a notice that the cluster is degraded, or
   * whole again), after everything each was sent before.
   *
   * @param event the event
   */
  notifyAll(event: ServerEvent): void {
    for (const session of this.#sessions) {
      if (this.chat.nameOf(session) !== undefined) this.delivery.send(session, event);
    }
  }

  /** Called by a session once its socket is released. */
  sessionClosed(session: Session): void {
    if (!this.#sessions.delete(session)) return;
    const guard = this.#guards.get(session);
    this.#guards.delete(session);
    if (guard !== undefined) {
      // A socket still open counts against its address and the server until it is released.
      this.#lingering.add(guard);
      void guard.released.then(() => {
        this.#lingering.delete(guard);
        this.#forgetIp(session.ip);
      });
    } else {
      this.#forgetIp(session.ip);
    }
    if (!session.quiet) {
      this.log.info("disconnect", {
        peer: session.peer,
        reason: session.closeReason,
        active: this.#sessions.size,
      });
    }
    if (this.#closing !== null && this.#sessions.size === 0) this.#allClosed?.();
  }

  #forgetIp(ip: string): void {
    const count = this.#perIp.get(ip) ?? 1;
    if (count <= 1) this.#perIp.delete(ip);
    else this.#perIp.set(ip, count - 1);
  }

  /** TLS sockets whose sessions ended but which Deno has not released yet. */
  get lingeringTls(): number {
    return this.#lingering.size;
  }

  async #accept(listener: Deno.Listener, encrypted: boolean): Promise<void> {
    let backoff = ACCEPT_BACKOFF_MIN_MS;
    let sinceTurn = 0;
    while (this.#closing === null) {
      if (sinceTurn === ACCEPTS_PER_TURN) {
        // Let the sockets of everyone already here be served first (see ACCEPTS_PER_TURN).
        sinceTurn = 0;
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (this.#closing !== null) break;
      }
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoff = ACCEPT_BACKOFF_MIN_MS;
        sinceTurn++;
        this.#accepted++;
      } catch (error) {
        if (this.#closing !== null || error instanceof Deno.errors.BadResource) break;
        this.log.error("accept_error", {
          error: error instanceof Error ? error.message : String(error),
          retry_ms: backoff,
        });
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, ACCEPT_BACKOFF_MAX_MS);
        continue;
      }
      this.#admit(conn, encrypted);
    }
  }

  #admit(conn: Deno.Conn, encrypted: boolean): void {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const ip = normaliseIp(remote.hostname);
    try {
      // A TLS connection wraps a TCP one; the options are set where Deno exposes them.
      (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
      (conn as Partial<Deno.TcpConn>).setKeepAlive?.(true);
    } catch {
      // The peer may already be gone; the first read will tell.
    }
    const refusal = this.#refusal(ip);
    if (refusal !== undefined && this.#refusing >= MAX_REFUSING) {
      conn.close();
      return;
    }
    const guard = encrypted ? new GuardedTlsConn(conn as Deno.TlsConn) : undefined;
    const session = new Session(guard ?? conn, ip, remote.port, this, Date.now());
    if (guard !== undefined) this.#guards.set(session, guard);
    session.encrypted = encrypted;
    this.#sessions.add(session);
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    if (refusal !== undefined) {
      const banned = refusal.code === "banned";
      session.refuse(refusal, banned);
      this.#refusing++;
      if (!banned || this.#bannedLog.due(ip)) {
        this.log.info("refuse", {
          peer: session.peer,
          reason: refusal.code,
          active: this.#sessions.size,
          ...(banned
            ? { note: "further attempts from this address are logged once a minute" }
            : {}),
        });
      }
      session.run();
      void session.ended().finally(() => this.#refusing--);
      return;
    }
    this.log.info("connect", {
      peer: session.peer,
      active: this.#sessions.size,
      ...(encrypted ? { tls: true } : {}),
    });
    session.run();
  }

  #refusal(ip: string): ProtocolError | undefined {
    // A banned address is turned away before anything is parsed: one map lookup per attempt.
    const ban = this.trust.moderation.banOf(ip);
    if (ban !== undefined) return banRefusal(ban);
    // The new connection is not counted yet, so "at the limit" already means full.
    const admitted = this.#sessions.size - this.#refusing + this.#lingering.size;
    if (admitted >= this.#config.maxClients) {
      return new ProtocolError(
        "server_full",
        `The server is full (${this.#config.maxClients} connections): try again later`,
      );
    }
    const perIp = this.#config.maxPerIp;
    if (perIp > 0 && !isLoopback(ip) && (this.#perIp.get(ip) ?? 0) >= perIp) {
      return new ProtocolError(
        "server_full",
        `Too many connections from your address (at most ${perIp}): close some and try again`,
      );
    }
    return undefined;
  }

  /**
   * Applies retention one small batch at a time, yielding between batches so the chat never
   * waits behind it for long; when done, waits a while before looking again.
   */
  #trim(): void {
    const store = this.#messages;
    if (store === undefined || this.#closing !== null) return;
    let removed = 0;
    try {
      removed = store.trimStep(
        { keepDays: this.#config.keepDays, keepMessages: this.#config.keepMessages },
        new Date(),
      );
    } catch (error) {
      this.log.error("retention_failed", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    if (removed > 0) this.log.info("retention", { removed });
    const more = removed >= RETENTION_BATCH;
    this.#retention = setTimeout(() => this.#trim(), more ? RETENTION_NEXT_MS : RETENTION_IDLE_MS);
  }

  #sweep(): void {
    const now = Date.now();
    // A sweep that comes late means the event loop was busy (a join storm, a burst): reads that
    // had arrived may not have been handed to their sessions yet, so a connection that looks
    // silent may have sent its hello. Only a loop that has kept up for a while can tell silence.
    if (now - this.#lastSweepAt > this.#sweepInterval + LATE_SWEEP_MS) this.#steadySince = now;
    this.#lastSweepAt = now;
    let unheard = 0;
    for (const session of this.#sessions) if (session.unheard) unheard++;
    const canGreet = now - this.#steadySince >= STEADY_BEFORE_GREETING_MS &&
      unheard <= MAX_UNHEARD_FOR_GREETING;
    for (const session of this.#sessions) session.checkDeadlines(now, canGreet);
  }
}

/**
 * Starts a chat server listening as the config says.
 *
 * @param config the settings (see `server/config.ts`)
 * @param options the log
 * @returns the running server
 * @throws {Deno.errors.AddrInUse} when the port is taken
 * @example Start on a free port and stop
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./chat_server.ts";
 * import { DEFAULT_SERVE_CONFIG } from "./config.ts";
 * const server = await startServer({ ...DEFAULT_SERVE_CONFIG, host: "127.0.0.1", port: 0 });
 * assert.ok(server.port > 0);
 * await server.close();
 * ```
 */
export async function startServer(
  config: ServeConfig,
  options: StartOptions = {},
): Promise<ChatServer> {
  const database = Database.open(config.data);
  let listener: Deno.TcpListener | undefined;
  let tls: TlsEndpoint | undefined;
  let allow: AllowList | undefined;
  try {
    const log = options.log ?? SILENT_LOGGER;
    if (config.allow !== undefined) {
      allow = await AllowList.load(config.allow, {
        loaded: (count) => log.info("allowlist", { file: config.allow!, identities: count }),
        failed: (message) =>
          log.error("allowlist_unchanged", { file: config.allow!, error: message }),
      });
    }
    listener = listen(config.host, config.port);
    if (config.tls) {
      const files = config.tlsCert !== undefined && config.tlsKey !== undefined
        ? { cert: config.tlsCert, key: config.tlsKey }
        : undefined;
      const certificate = await serverCertificate(database, files);
      const port = config.tlsPort ?? (config.port === 0 ? 0 : config.port + 1);
      tls = { listener: listenTls(listener.addr.hostname, port, certificate), certificate };
    }
    const server = new ChatServer(
      config,
      listener,
      options.log ?? SILENT_LOGGER,
      options.idleGc ?? false,
      {
        tls,
        database,
        ...(options.broker === undefined ? {} : { broker: options.broker }),
        ...(allow === undefined ? {} : { allow }),
        ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
        ...(options.shared === undefined ? {} : { shared: options.shared }),
      },
    );
    await server.chat.start();
    return server;
  } catch (error) {
    listener?.close();
    allow?.close();
    database.close();
    throw error;
  }
}

/** Listens for TLS on the plain listener's address, with the given certificate. */
function listenTls(
  hostname: string,
  port: number,
  certificate: ServerCertificate,
): Deno.TlsListener {
  try {
    return Deno.listenTls({
      hostname,
      port,
      transport: "tcp",
      cert: certificate.certPem,
      key: certificate.keyPem,
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Deno.errors.AddrInUse(
        `The TLS port ${port} is already in use: choose another with --tls-port, or --no-tls`,
      );
    }
    throw error;
  }
}

function listen(hostname: string, port: number): Deno.TcpListener {
  try {
    return Deno.listen({ hostname, port, transport: "tcp" });
  } catch (error) {
    // A machine without IPv6 cannot bind "::"; every IPv4 interface is the next best thing.
    if (hostname === "::" && !(error instanceof Deno.errors.AddrInUse)) {
      return Deno.listen({ hostname: "0.0.0.0", port, transport: "tcp" });
    }
    throw error;
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}
