/**
 * The listener: accepts connections, applies the connection limits, runs a session for each,
 * checks their deadlines, and shuts everything down in order.
 *
 * @module
 */

import { ProtocolError } from "../protocol/errors.ts";
import type { ServerLimits } from "../protocol/events.ts";
import type { ServeConfig } from "./config.ts";
import { type Logger, SILENT_LOGGER } from "./log.ts";
import { IDLE_GC_CHECK_MS, IdleGc, memoryReducingGc } from "./idle_gc.ts";
import { Chat } from "../core/chat.ts";
import type { Broker } from "../core/broker.ts";
import { InProcessBroker } from "../core/in_process_broker.ts";
import { NodeDelivery } from "./delivery.ts";
import { GuestNames } from "./guest_names.ts";
import { CLOSE_FLUSH_MS, Session, type SessionHost, type SessionLimits } from "./session.ts";

/** How long the accept loop waits after its first failure; it doubles up to a second. */
const ACCEPT_BACKOFF_MIN_MS = 10;
const ACCEPT_BACKOFF_MAX_MS = 1000;
/** Connections being refused at once (read until their framing is known, then told). */
const MAX_REFUSING = 256;
/**
 * How many connections the accept loop takes before it lets the event loop turn (a
 * `setTimeout(0)`, about 2 ms when nothing else is due), so that a flood of new connections
 * cannot crowd out the members already here.
 *
 * Deno serves the sockets' operations that had to wait from one queue, in arrival order, a batch
 * per turn of the event loop, while an `accept` that finds a connection waiting completes at
 * once. A flood that opens connections as fast as it can (condition 15 of the
 * adversarial suite: 10,000 connections of fuzzed bytes, 50 at a time) therefore queued several
 * socket operations per stranger (its read, its end, the close) faster than a CPU-starved server
 * served them, and a member's read waited behind all of them: on a machine with a load average
 * of 6 to 8 on 2 cores, a member's 100-byte message sat unread in the kernel's receive queue for
 * 3.1 s while the event loop itself never stalled more than 750 ms, and bystanders saw 2.5 to
 * 3.5 s of delay. Taking at most this many per turn bounds the strangers' share of each turn;
 * the rest wait in the kernel's listen backlog (511), where they cost the members nothing, and
 * once that is full the kernel drops their SYNs and the flood slows itself down. On a quiet
 * machine the bound is about 7,000 connections a second, above what a join storm of the
 * benchmark needs (5000 frame64 clients in about 1 s); under the same flood on the loaded machine
 * the worst bystander delay fell to 60-570 ms, and the flood took as long as before. No limit is
 * loosened: every connection accepted is checked as before, only later.
 */
export const ACCEPTS_PER_TURN = 16;

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
  /** Where guest names come from. */
  readonly guestNames: GuestNames = new GuestNames();
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  #config: ServeConfig;
  #listener: Deno.TcpListener;
  #sessions = new Set<Session>();
  #perIp = new Map<string, number>();
  #refusing = 0;
  /** Connections accepted so far; the memory trim counts growth as activity. */
  #accepted = 0;
  #sweeper: ReturnType<typeof setInterval>;
  #closing: Promise<void> | null = null;
  #acceptLoop: Promise<void>;
  #allClosed: (() => void) | null = null;
  /** Checks whether to give memory back (see `server/idle_gc.ts`), when that is on. */
  #idleGcTimer: ReturnType<typeof setInterval> | undefined;

  /** Use {@linkcode startServer}. */
  constructor(
    config: ServeConfig,
    listener: Deno.TcpListener,
    log: Logger,
    idleGc = false,
    broker: Broker = InProcessBroker.create({ keepMessages: config.history }),
  ) {
    this.#config = config;
    this.#listener = listener;
    this.log = log;
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
    this.delivery = new NodeDelivery();
    this.chat = new Chat<Session>({
      broker,
      historySize: config.history,
      maxRooms: config.maxRooms,
      serverName: config.serverName,
      limits,
      motd: config.motd,
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
    this.#sweeper = setInterval(() => this.#sweep(), interval);
    this.#acceptLoop = this.#accept();
    this.finished = this.#acceptLoop.then(() => this.#closing ?? undefined);
  }

  /** The port the server listens on. */
  get port(): number {
    return this.#listener.addr.port;
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
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    clearInterval(this.#sweeper);
    clearInterval(this.#idleGcTimer);
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
    await this.chat.close();
    this.log.info("stopped", { connections: this.#sessions.size });
  }

  /** Called by a session once its socket is released. */
  sessionClosed(session: Session): void {
    if (!this.#sessions.delete(session)) return;
    const count = this.#perIp.get(session.ip) ?? 1;
    if (count <= 1) this.#perIp.delete(session.ip);
    else this.#perIp.set(session.ip, count - 1);
    this.log.info("disconnect", {
      peer: session.peer,
      reason: session.closeReason,
      active: this.#sessions.size,
    });
    if (this.#closing !== null && this.#sessions.size === 0) this.#allClosed?.();
  }

  async #accept(): Promise<void> {
    let backoff = ACCEPT_BACKOFF_MIN_MS;
    let sinceTurn = 0;
    while (this.#closing === null) {
      if (sinceTurn === ACCEPTS_PER_TURN) {
        // Let the sockets of everyone already here be served first (see ACCEPTS_PER_TURN).
        sinceTurn = 0;
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (this.#closing !== null) break;
      }
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
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
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.TcpConn): void {
    const remote = conn.remoteAddr;
    const ip = normaliseIp(remote.hostname);
    const peer = ip.includes(":") ? `[${ip}]:${remote.port}` : `${ip}:${remote.port}`;
    try {
      conn.setNoDelay(true);
      conn.setKeepAlive(true);
    } catch {
      // The peer may already be gone; the first read will tell.
    }
    const refusal = this.#refusal(ip);
    if (refusal !== undefined && this.#refusing >= MAX_REFUSING) {
      conn.close();
      return;
    }
    const session = new Session(conn, peer, ip, this, Date.now());
    this.#sessions.add(session);
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    if (refusal !== undefined) {
      session.refuse(refusal);
      this.#refusing++;
      this.log.info("refuse", { peer, reason: refusal.code, active: this.#sessions.size });
      void session.run().finally(() => this.#refusing--);
      return;
    }
    this.log.info("connect", { peer, active: this.#sessions.size });
    void session.run();
  }

  #refusal(ip: string): ProtocolError | undefined {
    // The new connection is not counted yet, so "at the limit" already means full.
    const admitted = this.#sessions.size - this.#refusing;
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

  #sweep(): void {
    const now = Date.now();
    for (const session of this.#sessions) session.checkDeadlines(now);
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
  const listener = listen(config.host, config.port);
  const server = new ChatServer(
    config,
    listener,
    options.log ?? SILENT_LOGGER,
    options.idleGc ?? false,
    options.broker,
  );
  await server.chat.start();
  return server;
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
