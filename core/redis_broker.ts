/**
 * The Redis broker: the chat's shared state in one Redis server, so that several `chat serve`
 * processes (nodes) serve one chat. It is the second implementation of {@linkcode Broker} and
 * passes the same contract (`tests/support/broker_contract.ts`) on a real `redis-server`.
 *
 * - Every change of shared state is one Lua script (`core/redis_scripts.ts`), so it is atomic
 *   and every node sees the changes in one order. Publishing takes the room's next position
 *   and id, keeps a message in the room's capped history stream and publishes it on the room's
 *   channel in the same step: per room, every node receives the events in the order of their
 *   ids.
 * - The Redis hop is per message, never per recipient: one `PUBLISH` per event, received once
 *   by each node subscribed to the room, whose own fan-out hands it to its members.
 * - Nodes prove they are alive with a key that expires after the node timeout and is renewed
 *   three times per timeout. Any node that finds another's key gone takes that node's members
 *   out of their rooms (a `leave` with reason `node_lost`) and frees their names.
 * - ioredis reconnects with backoff and restores the subscriptions. While Redis is unreachable
 *   the node serves its own members from what it knows (degraded mode): their messages are
 *   delivered to its members at once, marked `pending` with a provisional id, and kept (up to
 *   {@linkcode PENDING_LIMIT}); joins, leaves, renames and moves change its own view. When Redis
 *   is back the node puts its members right there (the `reconcile` script), reads what it
 *   missed of each room from the history streams, publishes what it kept in order, and only
 *   then serves from Redis again. PROTOCOL.md ("While Redis is unreachable") says what members
 *   see.
 *
 * This module imports `npm:ioredis`; only `chat serve --redis` loads it.
 *
 * @module
 */

import { Redis } from "ioredis";
import type { DirectMessageEvent, MessageEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import {
  type Broker,
  BrokerUnavailableError,
  type DirectDraft,
  type EnterResult,
  type HistoryQuery,
  MAIN_ROOM,
  type MemberRef,
  type NameEntry,
  type Published,
  type PublishedDirect,
  type RoomEvent,
  type RoomEventDraft,
  type RoomInfo,
  type RoomSnapshot,
  type Subscription,
} from "./broker.ts";
import { REDIS_SCRIPTS } from "./redis_scripts.ts";

/** The default of `--cluster`: the prefix of every key and channel. */
export const DEFAULT_CLUSTER = "chat";

/** The default of `--node-timeout`, in seconds. */
export const DEFAULT_NODE_TIMEOUT_SECONDS = 10;

/** How many messages each room's history stream keeps (about: Redis trims whole blocks). */
export const REDIS_KEEP_MESSAGES = 1000;

/** How long to wait for Redis at start before giving up, in milliseconds. */
const CONNECT_TIMEOUT_MS = 5000;

/** The longest wait between two reconnection attempts, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * How many messages a node keeps for Redis while it cannot reach it. Past this, its members'
 * messages are refused (never dropped once shown) until Redis is back.
 */
export const PENDING_LIMIT = 100_000;

/** How many recent messages of each room a node keeps for members entering during an outage. */
const RECENT_KEEP = 100;

/** How many messages kept during an outage go to Redis in one pipelined batch. */
const FLUSH_BATCH = 500;

/** How long to wait before trying to come back again when Redis refused it, in milliseconds. */
const HEAL_RETRY_MS = 1000;

/** The marker in the draft of an event a node already showed its own members (see reconcile). */
const SHOWN_MARK = ',"p":1}';

/** Settings of a {@linkcode RedisBroker}. */
export interface RedisBrokerOptions {
  /** `redis://HOST:PORT[/DB]`. */
  readonly url: string;
  /** The cluster's name: nodes with the same Redis and name share one chat. */
  readonly cluster?: string;
  /** Silence after which a node counts as lost, in milliseconds. */
  readonly nodeTimeoutMs?: number;
  /** How many messages each room's history keeps. */
  readonly keepMessages?: number;
  /** How many messages the node keeps for Redis while it cannot reach it; {@linkcode PENDING_LIMIT} by default. */
  readonly pendingLimit?: number;
  /** This node's id; a random one by default. */
  readonly node?: string;
  /**
   * Called when this node finds it was itself taken for lost (it was paused or cut off past
   * the node timeout, or Redis lost its data): its members are no longer in the shared state,
   * and the node must let them go (they reconnect and resume). The node has registered again.
   */
  readonly onLost?: () => void;
  /**
   * Called when Redis becomes unreachable (true), and when it is reachable again and the node
   * has caught up and handed Redis what it kept meanwhile (false).
   */
  readonly onDegraded?: (degraded: boolean) => void;
  /** Called with errors worth logging (a failed heartbeat, a reconnection). */
  readonly onError?: (message: string) => void;
}

/** Redis could not be reached or used at start; the message says what to check. */
export class RedisUnavailableError extends Error {
  /** @param message one sentence a person can act on */
  constructor(message: string) {
    super(message);
    this.name = "RedisUnavailableError";
  }
}

/**
 * Checks a `--redis` URL and gives it back without a trailing slash.
 *
 * @param text the URL as given
 * @returns the URL
 * @throws {TypeError} with a sentence saying what is wrong
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRedisUrl } from "./redis_broker.ts";
 * assert.equal(checkRedisUrl("redis://127.0.0.1:6379/2"), "redis://127.0.0.1:6379/2");
 * assert.throws(() => checkRedisUrl("127.0.0.1:6379"));
 * ```
 */
export function checkRedisUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(
      `The Redis address must look like redis://HOST:PORT[/DB]: ${JSON.stringify(text)}`,
    );
  }
  if (url.protocol !== "redis:" || url.hostname === "") {
    throw new TypeError(
      `The Redis address must look like redis://HOST:PORT[/DB]: ${JSON.stringify(text)}`,
    );
  }
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db)) {
    throw new TypeError(
      `The database of a Redis address is a number (redis://HOST:PORT/0): ${JSON.stringify(text)}`,
    );
  }
  return text.replace(/\/$/, "");
}

type Script = (...args: (string | number)[]) => Promise<unknown>;

/** A member's key in Redis: `NODE/ID`. */
function memberKey(member: MemberRef): string {
  return `${member.node}/${member.id}`;
}

function parseMember(key: string): MemberRef | null {
  const slash = key.lastIndexOf("/");
  if (slash <= 0) return null;
  return { node: key.slice(0, slash), id: Number(key.slice(slash + 1)) };
}

/** Splits the first `count` newline-separated fields off a payload; the rest is the last. */
function fields(payload: string, count: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = payload.indexOf("\n", start);
    if (end < 0) throw new SyntaxError(`A Redis payload has too few fields: ${payload}`);
    out.push(payload.slice(start, end));
    start = end + 1;
  }
  out.push(payload.slice(start));
  return out;
}

/** Builds the event a draft becomes, with its fields in the order they go on the wire. */
function roomEvent(room: string, draft: RoomEventDraft, id: number, ts: string): RoomEvent {
  switch (draft.type) {
    case "message":
      return {
        type: "message",
        id,
        ts,
        from: draft.from,
        text: draft.text,
        kind: draft.kind,
        room,
      };
    case "nick":
      return { type: "nick", from: draft.from, to: draft.to, ts };
    case "join":
      return { type: "join", name: draft.name, ts, online: draft.online, room };
    case "leave":
      return {
        type: "leave",
        name: draft.name,
        ts,
        online: draft.online,
        reason: draft.reason,
        room,
      };
  }
}

/** Reads a room event payload (`POSITION\nID\nMS\nORIGIN\nDRAFT`); see also SHOWN_MARK. */
function decodeRoomEvent(room: string, payload: string): Published {
  const [position, id, ms, origin, draft] = fields(payload, 4);
  const event = roomEvent(
    room,
    JSON.parse(draft!) as RoomEventDraft,
    Number(id),
    new Date(Number(ms)).toISOString(),
  );
  return { room, event, origin: parseMember(origin!), position: Number(position) };
}

/** The draft of an event as JSON, fields in wire order (the payload keeps it as it is). */
function draftJson(draft: RoomEventDraft): string {
  switch (draft.type) {
    case "message":
      return JSON.stringify({
        type: "message",
        from: draft.from,
        text: draft.text,
        kind: draft.kind,
      });
    case "nick":
      return JSON.stringify({ type: "nick", from: draft.from, to: draft.to });
    case "join":
      return JSON.stringify({ type: "join", name: draft.name, online: draft.online });
    case "leave":
      return JSON.stringify({
        type: "leave",
        name: draft.name,
        online: draft.online,
        reason: draft.reason,
      });
  }
}

interface RoomChannel {
  readonly listeners: Set<(published: Published) => void>;
  /** The last message id and position handed to the listeners, for catching up. */
  lastId: number;
  lastPosition: number;
  /**
   * Live events held back while the node catches up after a reconnection, each with whether
   * this node's members are still to be shown it.
   */
  held: { readonly published: Published; readonly show: boolean }[] | null;
  /**
   * The room's members, name key to name, in entry order: read with every snapshot and kept up
   * to date by the room's events, so that a node cut off from Redis can still answer `who`.
   */
  readonly users: Map<string, string>;
  /** The latest messages (at most about twice RECENT_KEEP), for members entering meanwhile. */
  recent: MessageEvent[];
  /** The room's epoch at the last snapshot, to notice after an outage that it changed. */
  epoch: string | undefined;
  /** The last provisional id given to a message while Redis was unreachable. */
  provisional: number;
  /** The last position given to an event shown while Redis was unreachable. */
  localPosition: number;
  /** Subscribed while Redis was unreachable: it has no place in the room's stream yet. */
  fresh: boolean;
}

/** A member of this node as the node wants it in the shared state. */
interface Mine {
  readonly ref: MemberRef;
  name: string | undefined;
  room: string | undefined;
}

/** A message a member of this node said while Redis was unreachable, kept for Redis. */
interface Kept {
  readonly room: string;
  /** The draft as JSON, with SHOWN_MARK. */
  readonly draft: string;
  readonly origin: string;
  readonly ms: number;
}

function newChannel(): RoomChannel {
  return {
    listeners: new Set(),
    lastId: 0,
    lastPosition: 0,
    held: null,
    users: new Map(),
    recent: [],
    epoch: undefined,
    provisional: 0,
    localPosition: 0,
    fresh: false,
  };
}

/** Follows a room's member list through one of its events. */
function trackUsers(users: Map<string, string>, event: RoomEvent): void {
  switch (event.type) {
    case "message":
      return;
    case "join":
      users.set(nameKey(event.name), event.name);
      return;
    case "leave":
      users.delete(nameKey(event.name));
      return;
    case "nick": {
      const from = nameKey(event.from);
      if (!users.has(from)) return;
      // A new name keeps the member's place in the entry order.
      const entries = [...users].map(([key, name]) =>
        key === from ? [nameKey(event.to), event.to] as const : [key, name] as const
      );
      users.clear();
      for (const [key, name] of entries) users.set(key, name);
    }
  }
}

function byName(a: RoomInfo, b: RoomInfo): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** A fresh epoch for a room's history. */
function newEpoch(): string {
  return randomHex(6);
}

/**
 * A {@linkcode Broker} on Redis. Make one with {@linkcode RedisBroker.connect}.
 *
 * @example Two nodes of one cluster (needs a Redis on 127.0.0.1:6379)
 * ```ts ignore
 * const one = await RedisBroker.connect({ url: "redis://127.0.0.1:6379", cluster: "demo" });
 * const two = await RedisBroker.connect({ url: "redis://127.0.0.1:6379", cluster: "demo" });
 * await one.claimName("alice", { node: one.node, id: 1 });
 * console.log(await two.lookupName("ALICE")); // { name: "alice", holder: { node: ..., id: 1 } }
 * ```
 */
export class RedisBroker implements Broker {
  /** This node's id. */
  readonly node: string;
  /** Other nodes share the state. */
  readonly shared = true;
  /** The cluster's name. */
  readonly cluster: string;
  readonly #prefix: string;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #options: RedisBrokerOptions;
  readonly #ttl: number;
  readonly #keep: number;
  readonly #rooms = new Map<string, RoomChannel>();
  readonly #direct = new Set<(published: PublishedDirect) => void>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #beating = false;
  #nodes = 1;
  #degraded = false;
  #closed = false;
  /** This node's members (by member key) as the node wants them in Redis: put back after an outage. */
  readonly #mine = new Map<string, Mine>();
  /** Why members left while Redis was unreachable (member key to leave reason). */
  readonly #departed = new Map<string, string>();
  /** Messages said while Redis was unreachable, oldest first, from #keptHead on not yet in Redis. */
  #kept: Kept[] = [];
  #keptHead = 0;
  /** The pending limit was hit in this outage (said once in the log). */
  #full = false;
  /** Presence changes made while Redis was unreachable: healing repeats until none came. */
  #changes = 0;
  #healing = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** The room list as last read, for `rooms` while Redis is unreachable. */
  #knownRooms: readonly RoomInfo[] = [];

  private constructor(options: RedisBrokerOptions, redis: Redis, sub: Redis) {
    this.#options = options;
    this.node = options.node ?? randomHex(6);
    this.cluster = options.cluster ?? DEFAULT_CLUSTER;
    this.#prefix = `${this.cluster}:`;
    this.#ttl = Math.max(
      300,
      Math.round(options.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_SECONDS * 1000),
    );
    this.#keep = options.keepMessages ?? REDIS_KEEP_MESSAGES;
    this.#redis = redis;
    this.#sub = sub;
    for (const script of Object.values(REDIS_SCRIPTS)) {
      redis.defineCommand(script.name, { numberOfKeys: 0, lua: script.lua });
    }
  }

  /**
   * Connects to Redis, registers this node and starts its heartbeat.
   *
   * @param options where Redis is, the cluster's name and the node timeout
   * @returns the broker
   * @throws {RedisUnavailableError} when Redis cannot be reached or used
   */
  static async connect(options: RedisBrokerOptions): Promise<RedisBroker> {
    const url = checkRedisUrl(options.url);
    const make = () =>
      new Redis(url, {
        lazyConnect: true,
        connectTimeout: CONNECT_TIMEOUT_MS,
        // While Redis is away, commands wait for it instead of failing: nothing a member was
        // told is kept is dropped on the floor.
        maxRetriesPerRequest: null,
        // No retries while starting: a wrong address fails at once, with one sentence.
        retryStrategy: () => null,
        // The commands of one turn (many members' messages) go out in one write, in order.
        enableAutoPipelining: true,
      });
    const redis = make();
    const sub = make();
    const quiet = () => {};
    redis.on("error", quiet);
    sub.on("error", quiet);
    try {
      await redis.connect();
      await sub.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      sub.disconnect();
      const reason = error instanceof Error ? error.message : String(error);
      throw new RedisUnavailableError(
        `Cannot use Redis at ${url} (${reason}): check --redis and that redis-server runs there`,
      );
    }
    const broker = new RedisBroker(options, redis, sub);
    redis.off("error", quiet);
    sub.off("error", quiet);
    broker.#watch();
    try {
      await broker.#register();
    } catch (error) {
      await broker.close();
      const reason = error instanceof Error ? error.message : String(error);
      throw new RedisUnavailableError(`Redis at ${url} refused the chat's scripts: ${reason}`);
    }
    return broker;
  }

  /** How many nodes of the cluster were alive at the last heartbeat, this one included. */
  get nodes(): number {
    return this.#nodes;
  }

  /** True while Redis cannot be reached. */
  get degraded(): boolean {
    return this.#degraded;
  }

  #script(name: string): Script {
    const fn = (this.#redis as unknown as Record<string, Script>)[name];
    if (fn === undefined) throw new Error(`The Redis script ${name} is not defined`);
    return fn.bind(this.#redis);
  }

  #run(script: { readonly name: string }, ...args: (string | number)[]): Promise<unknown> {
    return this.#script(script.name)(this.#prefix, ...args);
  }

  /** Reconnects with backoff from now on, and tells the node when Redis comes and goes. */
  #watch(): void {
    const retry = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), MAX_RECONNECT_DELAY_MS);
    this.#redis.options.retryStrategy = retry;
    this.#sub.options.retryStrategy = retry;
    const report = (message: string) => this.#options.onError?.(message);
    const down = () => {
      if (this.#closed || this.#degraded) return;
      this.#degraded = true;
      // Live events that arrive once the subscriptions are restored wait until what was missed
      // meanwhile has been read back from the history streams, so nothing comes out of order.
      for (const channel of this.#rooms.values()) channel.held ??= [];
      this.#options.onDegraded?.(true);
    };
    for (const connection of [this.#redis, this.#sub]) {
      connection.on("error", (error: Error) => report(`Redis: ${error.message}`));
      connection.on("close", down);
    }
    // The node registers again as soon as it can send commands, before the other nodes' next
    // heartbeat could take it for lost; reading the rooms waits for the subscriptions.
    this.#redis.on("ready", () => {
      if (this.#degraded && !this.#closed) void this.#heal();
    });
    // Only the subscriber connection was lost: the command connection never said "ready".
    this.#sub.on("ready", () => {
      if (this.#degraded && !this.#closed && this.#redis.status === "ready") void this.#heal();
    });
  }

  /**
   * Redis is back: puts this node's members right there, reads what the rooms said meanwhile,
   * hands Redis the messages kept meanwhile, in order, and only then serves from Redis again.
   * Members may act while it runs (the node still serves them itself): it goes round again
   * until a round saw no change.
   */
  async #heal(): Promise<void> {
    if (this.#healing) return;
    this.#healing = true;
    try {
      await this.#reconcile();
      if (this.#sub.status !== "ready") {
        await new Promise<void>((resolve) => this.#sub.once("ready", () => resolve()));
      }
      for (let round = 0;; round++) {
        const changes = this.#changes;
        // Every room the first time; then those members entered meanwhile.
        await this.#catchUp();
        await this.#flush();
        if (changes !== this.#changes) await this.#reconcile();
        if (
          changes === this.#changes && this.#keptHead >= this.#kept.length && !this.#behind()
        ) {
          break;
        }
        if (round === 100) {
          throw new Error("Members kept acting through 100 rounds of coming back: trying again");
        }
      }
      // Nothing was awaited since the last check: no message can slip between the two modes.
      this.#kept = [];
      this.#keptHead = 0;
      this.#full = false;
      this.#departed.clear();
      this.#degraded = false;
      this.#options.onDegraded?.(false);
    } catch (error) {
      // Redis refused a script, or went away again: try again in a while (a reconnection
      // would too, but a refusal has none).
      if (!this.#closed) {
        this.#options.onError?.(`Coming back to Redis: ${(error as Error).message}`);
        clearTimeout(this.#retry);
        this.#retry = setTimeout(() => void this.#heal(), HEAL_RETRY_MS);
      }
    } finally {
      this.#healing = false;
    }
  }

  /** True while a room this node follows has not caught up since Redis came back. */
  #behind(): boolean {
    for (const channel of this.#rooms.values()) {
      if (channel.fresh || channel.held !== null) return true;
    }
    return false;
  }

  /**
   * Makes Redis hold this node's members as the node holds them now (see the `reconcile`
   * script). A member whose name another node gave away meanwhile is renamed here to a guest
   * name, and the node tries again.
   */
  async #reconcile(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const args: (string | number)[] = [this.node, this.#ttl, newEpoch(), 0];
      let count = 0;
      for (const [key, mine] of this.#mine) {
        if (mine.name === undefined || mine.room === undefined) continue;
        args.push(key, nameKey(mine.name), mine.name, mine.room);
        count++;
      }
      args[3] = count;
      for (const [key, reason] of this.#departed) if (!this.#mine.has(key)) args.push(key, reason);
      const clashes = await this.#run(REDIS_SCRIPTS.reconcile, ...args) as string[];
      if (clashes.length === 0) return;
      for (const key of clashes) this.#renameClash(key);
    }
    throw new Error("Names kept clashing while putting this node's members back");
  }

  /**
   * Renames a member of this node whose name another node gave to someone else while Redis was
   * unreachable: that one keeps it (Redis had it first), this one becomes a guest. Its room
   * here sees `nick`; the other nodes see it come back under the guest name.
   */
  #renameClash(key: string): void {
    const mine = this.#mine.get(key);
    const old = mine?.name;
    if (mine === undefined || old === undefined) return;
    let guest = "";
    for (let tries = 0; tries < 100; tries++) {
      guest = `guest-${1000 + Math.floor(Math.random() * 9000)}`;
      if (!this.#heldElsewhere(guest, mine.ref)) break;
    }
    mine.name = guest;
    this.#options.onError?.(
      `The name "${old}" was given to a member of another node while Redis was unreachable: ` +
        `this node's "${old}" is now "${guest}"`,
    );
    if (mine.room !== undefined) {
      this.#showLocally(mine.room, { type: "nick", from: old, to: guest }, mine.ref);
    }
  }

  /** Hands Redis the messages kept while it was unreachable, in order, in pipelined batches. */
  async #flush(): Promise<void> {
    while (this.#keptHead < this.#kept.length) {
      const batch = this.#kept.slice(this.#keptHead, this.#keptHead + FLUSH_BATCH);
      await Promise.all(
        batch.map((kept) =>
          this.#run(
            REDIS_SCRIPTS.publish,
            kept.room,
            1,
            kept.draft,
            kept.origin,
            this.#keep,
            kept.ms,
          )
        ),
      );
      this.#keptHead += batch.length;
    }
  }

  /**
   * Hands the listeners what they missed while Redis was unreachable: every event kept since
   * the last one they were given (messages in the room's log, the others in its events stream),
   * then, for what those no longer hold, who came and went by comparing the members the node
   * knew with those Redis lists now, then the live events held meanwhile that were not in what
   * it read.
   */
  async #catchUp(): Promise<void> {
    const rooms = [...this.#rooms].filter(([, channel]) => channel.fresh || channel.held !== null);
    for (const [room, channel] of rooms) {
      let present = channel.lastPosition;
      try {
        const [id, position, epoch] = await this.#redis.mget(
          `${this.#prefix}room:${room}:seq`,
          `${this.#prefix}room:${room}:pos`,
          `${this.#prefix}room:${room}:epoch`,
        );
        if (channel.fresh) {
          // Subscribed while Redis was unreachable: its members were shown what the node had.
          channel.lastId = Number(id ?? 0);
          channel.lastPosition = Number(position ?? 0);
        } else if (channel.epoch !== undefined && epoch !== channel.epoch) {
          // The room's history started again (Redis lost its data, or the room was forgotten
          // and made anew): everything in it now is news.
          channel.lastId = 0;
          channel.lastPosition = 0;
        }
        channel.fresh = false;
        const [messages, others] = await this.#run(
          REDIS_SCRIPTS.since,
          room,
          channel.lastId,
          channel.lastPosition,
        ) as [string[], string[]];
        const missed = [...messages, ...others].map((payload) => ({
          published: decodeRoomEvent(room, payload),
          payload,
        })).sort((a, b) => a.published.position - b.published.position);
        for (const { published, payload } of missed) {
          if (published.position > channel.lastPosition) {
            this.#dispatch(channel, published, !this.#shownHere(published, payload));
          }
        }
        const [now, current, users] = await this.#run(
          REDIS_SCRIPTS.snapshot,
          room,
          0,
          0,
          newEpoch(),
          -1,
        ) as [number, string, string[]];
        if (current !== "") channel.epoch = current;
        present = Math.max(now, channel.lastPosition);
        this.#presence(room, channel, users, present);
      } catch (error) {
        this.#options.onError?.(`Catching up ${room}: ${(error as Error).message}`);
      }
      const held = channel.held ?? [];
      channel.held = null;
      const after = channel.lastPosition;
      for (const { published, show } of held) {
        // A message after the last one read; any other event after the members list read.
        const { position, event } = published;
        if (position > (event.type === "message" ? after : present)) {
          this.#dispatch(channel, published, show);
        }
      }
    }
  }

  /**
   * Tells the listeners of a room who came and went while the node was away from Redis, from
   * the difference between the members it knew and those Redis lists now.
   */
  #presence(room: string, channel: RoomChannel, users: readonly string[], position: number): void {
    const now = new Map(users.map((name) => [nameKey(name), name] as const));
    // This node's own members are shown their room as the node holds it, Redis or not yet.
    const own = new Set<string>();
    for (const mine of this.#mine.values()) {
      if (mine.room === room && mine.name !== undefined) own.add(nameKey(mine.name));
    }
    const ts = new Date().toISOString();
    const events: RoomEvent[] = [];
    for (const [key, name] of channel.users) {
      if (!now.has(key) && !own.has(key)) {
        events.push({ type: "leave", name, ts, online: now.size, reason: "quit", room });
      }
    }
    for (const [key, name] of now) {
      if (!channel.users.has(key) && !own.has(key)) {
        events.push({ type: "join", name, ts, online: now.size, room });
      }
    }
    for (const event of events) {
      trackUsers(channel.users, event);
      const published: Published = { room, event, origin: null, position };
      for (const listener of channel.listeners) listener(published);
    }
  }

  /** True for an event this node put in Redis after showing it to its own members already. */
  #shownHere(published: Published, payload: string): boolean {
    return published.origin?.node === this.node && payload.endsWith(SHOWN_MARK);
  }

  async #register(): Promise<void> {
    const [nodes] = await this.#run(REDIS_SCRIPTS.register, this.node, this.#ttl) as number[];
    this.#nodes = nodes ?? 1;
    await this.#sub.subscribe(`${this.#prefix}direct:${this.node}`);
    this.#sub.on(
      "message",
      (channel: string, payload: string) => this.#onMessage(channel, payload),
    );
    this.#heartbeat = setInterval(
      () => void this.#beat(),
      Math.max(100, Math.floor(this.#ttl / 3)),
    );
  }

  /** Renews this node's key and reaps lost nodes; re-registers when this node was reaped. */
  async #beat(): Promise<void> {
    // While Redis is unreachable, coming back registers the node (see #heal).
    if (this.#beating || this.#closed || (this.#degraded && !this.#healing)) return;
    this.#beating = true;
    try {
      if (this.#degraded) {
        // Coming back takes a while (many kept messages): stay alive meanwhile.
        await this.#redis.set(`${this.#prefix}node:${this.node}`, "1", "PX", this.#ttl);
        return;
      }
      const [nodes] = await this.#run(REDIS_SCRIPTS.heartbeat, this.node, this.#ttl) as number[];
      // A beat sent before an outage and answered after it: healing puts the node back.
      if (this.#degraded) return;
      if (nodes === -1) {
        // Its members are gone from Redis, and the node lets them go (onLost).
        this.#mine.clear();
        const [again] = await this.#run(REDIS_SCRIPTS.register, this.node, this.#ttl) as number[];
        this.#nodes = again ?? 1;
        this.#options.onLost?.();
      } else {
        this.#nodes = nodes ?? this.#nodes;
      }
    } catch (error) {
      if (!this.#closed) this.#options.onError?.(`Heartbeat: ${(error as Error).message}`);
    } finally {
      this.#beating = false;
    }
  }

  #onMessage(channel: string, payload: string): void {
    const live = `${this.#prefix}live:`;
    if (channel.startsWith(live)) {
      const room = channel.slice(live.length);
      const entry = this.#rooms.get(room);
      if (entry === undefined) return;
      const published = decodeRoomEvent(room, payload);
      const show = !this.#shownHere(published, payload);
      if (entry.held !== null) entry.held.push({ published, show });
      else this.#dispatch(entry, published, show);
      return;
    }
    const [id, ms, origin, to, room, draft] = fields(payload, 5);
    const parsed = JSON.parse(draft!) as DirectDraft;
    const event: DirectMessageEvent = {
      type: "dm",
      id: Number(id),
      ts: new Date(Number(ms)).toISOString(),
      from: parsed.from,
      to: parsed.to,
      text: parsed.text,
    };
    const from = parseMember(origin!);
    const recipient = parseMember(to!);
    if (from === null || recipient === null) return;
    const published: PublishedDirect = { event, room: room!, origin: from, to: recipient };
    for (const listener of this.#direct) listener(published);
  }

  /**
   * Hands an event from Redis to the room's listeners, unless `show` is false: this node showed
   * it to its members already, while Redis was unreachable.
   */
  #dispatch(channel: RoomChannel, published: Published, show: boolean): void {
    channel.lastPosition = published.position;
    const event = published.event;
    if (event.type === "message") {
      channel.lastId = event.id;
      if (show) this.#remember(channel, event);
      else this.#confirm(channel, event);
    } else if (show) {
      trackUsers(channel.users, event);
    }
    if (show) { for (const listener of channel.listeners) listener(published); }
  }

  /** Keeps a message among the room's recent ones. */
  #remember(channel: RoomChannel, message: MessageEvent): void {
    const recent = channel.recent;
    recent.push(message);
    if (recent.length > 2 * RECENT_KEEP) recent.splice(0, recent.length - RECENT_KEEP);
  }

  /** Puts the message Redis numbered in place of the pending one this node showed. */
  #confirm(channel: RoomChannel, message: MessageEvent): void {
    const recent = channel.recent;
    for (let i = recent.length - 1; i >= 0; i--) {
      const shown = recent[i]!;
      if (shown.pending === true && shown.ts === message.ts && shown.from === message.from) {
        recent[i] = message;
        return;
      }
    }
  }

  /** This node's record of one of its members, made on first use. */
  #mineOf(ref: MemberRef): Mine {
    const key = memberKey(ref);
    let mine = this.#mine.get(key);
    if (mine === undefined) this.#mine.set(key, mine = { ref, name: undefined, room: undefined });
    return mine;
  }

  /** Forgets the record of a member that has neither a name nor a room any more. */
  #prune(ref: MemberRef): void {
    const key = memberKey(ref);
    const mine = this.#mine.get(key);
    if (mine !== undefined && mine.name === undefined && mine.room === undefined) {
      this.#mine.delete(key);
    }
  }

  /**
   * Whether someone other than `holder` has a name, as far as this node can tell without Redis:
   * one of its own members, or a member of a room it follows.
   */
  #heldElsewhere(name: string, holder: MemberRef): boolean {
    const key = nameKey(name);
    for (const mine of this.#mine.values()) {
      if (mine.name !== undefined && nameKey(mine.name) === key) {
        return mine.ref.node !== holder.node || mine.ref.id !== holder.id;
      }
    }
    for (const channel of this.#rooms.values()) if (channel.users.has(key)) return true;
    return false;
  }

  /** The names in a room as this node knows them: those it followed, and its own members. */
  #localMembers(room: string): string[] {
    const users = new Map(this.#rooms.get(room)?.users);
    for (const mine of this.#mine.values()) {
      if (mine.room === room && mine.name !== undefined) users.set(nameKey(mine.name), mine.name);
    }
    return [...users.values()];
  }

  /** The next provisional id of a room, for what is said there while Redis is unreachable. */
  #provisionalId(channel: RoomChannel | undefined): number {
    if (channel === undefined) return 0;
    channel.provisional = Math.max(channel.provisional, channel.lastId) + 1;
    return channel.provisional;
  }

  /**
   * Shows an event to this node's members of a room without Redis: a message gets a provisional
   * id and `pending`, every event the time now and a place after what the node has shown.
   */
  #showLocally(room: string, draft: RoomEventDraft, origin: MemberRef | null): Published {
    const channel = this.#rooms.get(room);
    const id = draft.type === "message" ? this.#provisionalId(channel) : 0;
    let event = roomEvent(room, draft, id, new Date().toISOString());
    if (event.type === "message") event = { ...event, pending: true };
    let position = 0;
    if (channel !== undefined) {
      position = channel.localPosition = Math.max(channel.localPosition, channel.lastPosition) + 1;
    }
    const published: Published = { room, event, origin, position };
    if (channel !== undefined) {
      if (event.type === "message") this.#remember(channel, event);
      else trackUsers(channel.users, event);
      for (const listener of channel.listeners) listener(published);
    }
    return published;
  }

  /**
   * Publishes while Redis is unreachable: shown to this node's members at once, a message kept
   * for Redis, a leave's reason noted for when the node puts its members right.
   */
  #publishLocally(
    room: string,
    draft: RoomEventDraft,
    origin: MemberRef | null,
  ): Promise<Published> {
    if (draft.type === "message") {
      const limit = this.#options.pendingLimit ?? PENDING_LIMIT;
      if (this.#kept.length - this.#keptHead >= limit) {
        if (!this.#full) {
          this.#full = true;
          this.#options.onError?.(
            `${limit} messages are waiting for Redis: members' messages are refused ` +
              "until it is back",
          );
        }
        return Promise.reject(
          new BrokerUnavailableError(
            `The cluster is degraded and this server holds ${limit} messages waiting ` +
              "for Redis: try again once it is whole",
          ),
        );
      }
    } else if (draft.type === "leave" && origin !== null) {
      this.#departed.set(memberKey(origin), draft.reason);
    }
    const published = this.#showLocally(room, draft, origin);
    if (draft.type === "message" && origin !== null) {
      this.#kept.push({
        room,
        draft: draftJson(draft).slice(0, -1) + SHOWN_MARK,
        origin: memberKey(origin),
        ms: Date.parse(published.event.ts),
      });
    }
    return Promise.resolve(published);
  }

  /** The error for what only the rest of the cluster can answer while Redis is unreachable. */
  #unreachable(what: string): BrokerUnavailableError {
    return new BrokerUnavailableError(
      `The cluster is degraded: this server cannot reach the others to ${what}; ` +
        "try again once it is whole",
    );
  }

  async claimName(name: string, holder: MemberRef): Promise<boolean> {
    if (this.#degraded) {
      if (this.#heldElsewhere(name, holder)) return false;
      this.#mineOf(holder).name = name;
      this.#changes++;
      return true;
    }
    const done = await this.#run(
      REDIS_SCRIPTS.claim,
      nameKey(name),
      name,
      memberKey(holder),
      holder.node,
    );
    if (done === 1 && holder.node === this.node) this.#mineOf(holder).name = name;
    return done === 1;
  }

  async renameName(from: string, to: string, holder: MemberRef): Promise<boolean> {
    if (this.#degraded) {
      const mine = this.#mineOf(holder);
      if (mine.name === undefined || nameKey(mine.name) !== nameKey(from)) return false;
      if (this.#heldElsewhere(to, holder)) return false;
      mine.name = to;
      this.#changes++;
      return true;
    }
    const done = await this.#run(
      REDIS_SCRIPTS.rename,
      nameKey(from),
      nameKey(to),
      to,
      memberKey(holder),
    );
    if (done === 1 && holder.node === this.node) this.#mineOf(holder).name = to;
    return done === 1;
  }

  async releaseName(name: string, holder: MemberRef): Promise<void> {
    const mine = this.#mine.get(memberKey(holder));
    if (mine?.name !== undefined && nameKey(mine.name) === nameKey(name)) {
      mine.name = undefined;
      this.#prune(holder);
    }
    if (this.#degraded) {
      this.#changes++;
      return;
    }
    await this.#run(REDIS_SCRIPTS.release, nameKey(name), memberKey(holder), holder.node);
  }

  async lookupName(name: string): Promise<NameEntry | undefined> {
    if (this.#degraded) {
      const key = nameKey(name);
      for (const mine of this.#mine.values()) {
        if (mine.name !== undefined && nameKey(mine.name) === key) {
          return { name: mine.name, holder: mine.ref };
        }
      }
      throw this.#unreachable(`find "${name}"`);
    }
    const entry = await this.#redis.hget(`${this.#prefix}names`, nameKey(name));
    if (entry === null) return undefined;
    const newline = entry.indexOf("\n");
    const holder = parseMember(entry.slice(newline + 1));
    return holder === null ? undefined : { name: entry.slice(0, newline), holder };
  }

  async enter(room: string, member: MemberRef, maxRooms: number): Promise<EnterResult> {
    if (this.#degraded) return this.#enterLocally(room, member);
    const result = await this.#run(
      REDIS_SCRIPTS.enter,
      room,
      memberKey(member),
      maxRooms,
      member.node,
      newEpoch(),
    ) as [number, number?, number?, string?, number?];
    if (result[0] !== 1) return { ok: false, reason: "too_many_rooms" };
    const [, online, created, leftRoom, leftOnline] = result;
    if (member.node === this.node) this.#mineOf(member).room = room;
    return {
      ok: true,
      online: online ?? 0,
      created: created === 1,
      left: leftRoom ? { room: leftRoom, online: leftOnline ?? 0 } : null,
    };
  }

  /**
   * Enters a room while Redis is unreachable, with the counts as this node knows them. The room
   * limit is not checked: only Redis knows the rooms of every node (see PROTOCOL.md).
   */
  #enterLocally(room: string, member: MemberRef): EnterResult {
    const mine = this.#mineOf(member);
    const from = mine.room;
    mine.room = room;
    this.#changes++;
    const name = mine.name === undefined ? undefined : nameKey(mine.name);
    const channel = this.#rooms.get(room);
    const known = room === MAIN_ROOM || channel !== undefined ||
      this.#knownRooms.some((info) => info.name === room);
    const here = channel?.users ?? new Map<string, string>();
    const online = here.size + (name !== undefined && here.has(name) ? 0 : 1);
    let left: { room: string; online: number } | null = null;
    if (from !== undefined && from !== room) {
      const users = this.#rooms.get(from)?.users;
      const count = users?.size ?? 1;
      left = {
        room: from,
        online: Math.max(0, count - (name !== undefined && users?.has(name) ? 1 : 0)),
      };
    }
    return { ok: true, online, created: !known, left };
  }

  async leave(room: string, member: MemberRef): Promise<number> {
    const mine = this.#mine.get(memberKey(member));
    if (mine?.room === room) {
      mine.room = undefined;
      this.#prune(member);
    }
    if (this.#degraded) {
      this.#changes++;
      const users = this.#rooms.get(room)?.users;
      if (users === undefined) return 0;
      const name = mine?.name === undefined ? undefined : nameKey(mine.name);
      return users.size - (name !== undefined && users.has(name) ? 1 : 0);
    }
    return await this.#run(REDIS_SCRIPTS.leave, room, memberKey(member), member.node) as number;
  }

  async roomOf(member: MemberRef): Promise<string | undefined> {
    if (this.#degraded) return this.#mine.get(memberKey(member))?.room;
    return await this.#redis.hget(`${this.#prefix}roomof`, memberKey(member)) ?? undefined;
  }

  async members(room: string): Promise<readonly string[]> {
    if (this.#degraded) return this.#localMembers(room);
    const users = await this.#run(REDIS_SCRIPTS.members, room) as string[];
    this.#know(room, users, undefined);
    return users;
  }

  async rooms(): Promise<readonly RoomInfo[]> {
    if (this.#degraded) {
      const counts = new Map<string, number>([[MAIN_ROOM, 0]]);
      for (const info of this.#knownRooms) counts.set(info.name, info.online);
      for (const room of this.#rooms.keys()) counts.set(room, this.#localMembers(room).length);
      return [...counts].map(([name, online]) => ({ name, online })).sort(byName);
    }
    const flat = await this.#run(REDIS_SCRIPTS.rooms) as (string | number)[];
    const list: RoomInfo[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      list.push({ name: String(flat[i]), online: Number(flat[i + 1]) });
    }
    this.#knownRooms = list.sort(byName);
    return list;
  }

  async nextId(room: string): Promise<number> {
    if (this.#degraded) return this.#provisionalId(this.#rooms.get(room));
    return await this.#run(REDIS_SCRIPTS.nextId, room) as number;
  }

  async publish(
    room: string,
    draft: RoomEventDraft,
    origin: MemberRef | null,
  ): Promise<Published> {
    if (this.#degraded) return await this.#publishLocally(room, draft, origin);
    const [position, id, ms] = await this.#run(
      REDIS_SCRIPTS.publish,
      room,
      draft.type === "message" ? 1 : 0,
      draftJson(draft),
      origin === null ? "" : memberKey(origin),
      this.#keep,
    ) as [number, number, number];
    const event = roomEvent(room, draft, id, new Date(ms).toISOString());
    return { room, event, origin, position };
  }

  async sendDirect(
    room: string,
    draft: DirectDraft,
    origin: MemberRef,
    to: MemberRef,
  ): Promise<PublishedDirect> {
    if (this.#degraded) {
      // Between two members of this node it needs no Redis; to another node it must wait.
      if (to.node !== this.node) throw this.#unreachable(`reach "${draft.to}"`);
      const published: PublishedDirect = {
        event: {
          type: "dm",
          id: this.#provisionalId(this.#rooms.get(room)),
          ts: new Date().toISOString(),
          from: draft.from,
          to: draft.to,
          text: draft.text,
          pending: true,
        },
        room,
        origin,
        to,
      };
      for (const listener of this.#direct) listener(published);
      return published;
    }
    const json = JSON.stringify({ type: "dm", from: draft.from, to: draft.to, text: draft.text });
    const [id, ms] = await this.#run(
      REDIS_SCRIPTS.direct,
      room,
      json,
      memberKey(origin),
      to.node,
      memberKey(to),
    ) as [number, number];
    const event: DirectMessageEvent = {
      type: "dm",
      id,
      ts: new Date(ms).toISOString(),
      from: draft.from,
      to: draft.to,
      text: draft.text,
    };
    return { event, room, origin, to };
  }

  async history(room: string, query: HistoryQuery): Promise<readonly MessageEvent[]> {
    return (await this.snapshot(room, query)).history;
  }

  async snapshot(room: string, query: HistoryQuery): Promise<RoomSnapshot> {
    if (this.#degraded) return this.#snapshotLocally(room, query);
    const [position, epoch, users, payloads, trimmed, count] = await this.#run(
      REDIS_SCRIPTS.snapshot,
      room,
      Math.max(0, query.limit),
      query.after ?? 0,
      newEpoch(),
      query.countAfter ?? -1,
    ) as [number, string, string[], string[], number, number];
    const history: MessageEvent[] = [];
    for (let i = payloads.length - 1; i >= 0; i--) {
      history.push(decodeRoomEvent(room, payloads[i]!).event as MessageEvent);
    }
    this.#know(room, users, epoch);
    return {
      history,
      users,
      epoch,
      position,
      trimmedThrough: trimmed,
      ...(count >= 0 ? { count } : {}),
    };
  }

  /**
   * A snapshot from what this node knows while Redis is unreachable: the room's recent messages
   * it kept, its members as it follows them, the epoch it last read (a new one for a room it
   * never read: a resume there later finds a gap rather than a wrong "nothing new").
   */
  #snapshotLocally(room: string, query: HistoryQuery): RoomSnapshot {
    const channel = this.#rooms.get(room);
    const recent = channel?.recent ?? [];
    const after = query.after ?? 0;
    const history = query.limit <= 0
      ? []
      : recent.filter((message) => message.id > after).slice(-query.limit);
    const countAfter = query.countAfter;
    return {
      history,
      users: this.#localMembers(room),
      epoch: channel?.epoch ?? newEpoch(),
      position: channel === undefined ? 0 : Math.max(channel.localPosition, channel.lastPosition),
      trimmedThrough: Math.max(0, (recent[0]?.id ?? 1) - 1),
      ...(countAfter === undefined
        ? {}
        : { count: recent.filter((message) => message.id > countAfter).length }),
    };
  }

  /** Keeps what a read of Redis said of a room this node follows. */
  #know(room: string, users: readonly string[], epoch: string | undefined): void {
    const channel = this.#rooms.get(room);
    if (channel === undefined) return;
    channel.users.clear();
    for (const name of users) channel.users.set(nameKey(name), name);
    if (epoch !== undefined && epoch !== "") channel.epoch = epoch;
  }

  async subscribe(room: string, listener: (published: Published) => void): Promise<Subscription> {
    let entry = this.#rooms.get(room);
    if (entry === undefined) {
      entry = newChannel();
      this.#rooms.set(room, entry);
    }
    const first = entry.listeners.size === 0;
    entry.listeners.add(listener);
    const channel = entry;
    const live = `${this.#prefix}live:${room}`;
    if (first && this.#degraded) {
      // Sent once Redis is back (ioredis queues it); coming back places the room then.
      channel.fresh = true;
      channel.held ??= [];
      this.#sub.subscribe(live).catch(() => {});
    } else if (first) {
      await this.#sub.subscribe(live);
      // Where the room stands now, so that catching up after a reconnection starts here (and
      // never replays what came before the subscription) even if nothing arrives before it.
      const [id, position] = await this.#redis.mget(
        `${this.#prefix}room:${room}:seq`,
        `${this.#prefix}room:${room}:pos`,
      );
      if (channel.lastPosition === 0) {
        channel.lastId = Number(id ?? 0);
        channel.lastPosition = Number(position ?? 0);
      }
    }
    let active = true;
    return {
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        channel.listeners.delete(listener);
        if (channel.listeners.size === 0 && this.#rooms.get(room) === channel) {
          this.#rooms.delete(room);
          if (this.#closed) return;
          if (this.#degraded) this.#sub.unsubscribe(live).catch(() => {});
          else await this.#sub.unsubscribe(live);
        }
      },
    };
  }

  subscribeDirect(listener: (published: PublishedDirect) => void): Promise<Subscription> {
    this.#direct.add(listener);
    return Promise.resolve({
      unsubscribe: () => {
        this.#direct.delete(listener);
        return Promise.resolve();
      },
    });
  }

  /**
   * Takes this node out of the cluster: its members that are still registered leave (with
   * reason `shutdown`, told to their rooms), the node's key goes, and both connections close.
   * Calling it twice does nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#retry);
    const unsent = this.#kept.length - this.#keptHead;
    if (unsent > 0) {
      this.#options.onError?.(
        `${unsent} messages said while Redis was unreachable never reached it: they are lost`,
      );
    }
    try {
      if (this.#redis.status === "ready") {
        await this.#run(REDIS_SCRIPTS.unregister, this.node, "shutdown");
      }
    } catch {
      // Redis is gone: the other nodes reap this one after the node timeout.
    }
    this.#rooms.clear();
    this.#direct.clear();
    await Promise.allSettled([this.#redis.quit(), this.#sub.quit()]);
    this.#redis.disconnect();
    this.#sub.disconnect();
  }
}
