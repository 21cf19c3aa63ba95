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
 * - ioredis reconnects with backoff and restores the subscriptions; after a reconnection the
 *   node reads what it missed of each room from the history streams before live events.
 *
 * This module imports `npm:ioredis`; only `chat serve --redis` loads it.
 *
 * @module
 */

import { Redis } from "ioredis";
import type { DirectMessageEvent, MessageEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import type {
  Broker,
  DirectDraft,
  EnterResult,
  HistoryQuery,
  MemberRef,
  NameEntry,
  Published,
  PublishedDirect,
  RoomEvent,
  RoomEventDraft,
  RoomInfo,
  RoomSnapshot,
  Subscription,
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
  /** This node's id; a random one by default. */
  readonly node?: string;
  /**
   * Called when this node finds it was itself taken for lost (it was paused or cut off past
   * the node timeout, or Redis lost its data): its members are no longer in the shared state,
   * and the node must let them go (they reconnect and resume). The node has registered again.
   */
  readonly onLost?: () => void;
  /** Called when Redis becomes unreachable (true) and reachable again (false). */
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

/** Reads a room event payload (`POSITION\nID\nMS\nORIGIN\nDRAFT`). */
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
  /** Live events held back while the node catches up after a reconnection. */
  held: Published[] | null;
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
    this.#redis.on("ready", () => {
      if (!this.#degraded || this.#closed) return;
      void this.#beat().then(() => {
        if (this.#sub.status === "ready") this.#recovered();
      });
    });
    this.#sub.on("ready", () => {
      if (!this.#degraded || this.#closed) return;
      if (this.#redis.status === "ready") this.#recovered();
    });
  }

  /** Both connections are back: read what was missed, then say so. */
  #recovered(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    void this.#catchUp().finally(() => this.#options.onDegraded?.(false));
  }

  /** Hands the listeners every message kept since the last one they were given. */
  async #catchUp(): Promise<void> {
    const rooms = [...this.#rooms];
    for (const [, channel] of rooms) channel.held ??= [];
    for (const [room, channel] of rooms) {
      try {
        const payloads = await this.#run(REDIS_SCRIPTS.since, room, channel.lastId) as string[];
        for (const payload of payloads) {
          const published = decodeRoomEvent(room, payload);
          if (published.position > channel.lastPosition) this.#dispatch(channel, published);
        }
      } catch (error) {
        this.#options.onError?.(`Catching up ${room}: ${(error as Error).message}`);
      }
      const held = channel.held ?? [];
      channel.held = null;
      const after = channel.lastPosition;
      for (const published of held) {
        if (published.position > after) this.#dispatch(channel, published);
      }
    }
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
    if (this.#beating || this.#closed) return;
    this.#beating = true;
    try {
      const [nodes] = await this.#run(REDIS_SCRIPTS.heartbeat, this.node, this.#ttl) as number[];
      if (nodes === -1) {
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
      if (entry.held !== null) entry.held.push(published);
      else this.#dispatch(entry, published);
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

  #dispatch(channel: RoomChannel, published: Published): void {
    channel.lastPosition = published.position;
    if (published.event.type === "message") channel.lastId = published.event.id;
    for (const listener of channel.listeners) listener(published);
  }

  async claimName(name: string, holder: MemberRef): Promise<boolean> {
    const done = await this.#run(
      REDIS_SCRIPTS.claim,
      nameKey(name),
      name,
      memberKey(holder),
      holder.node,
    );
    return done === 1;
  }

  async renameName(from: string, to: string, holder: MemberRef): Promise<boolean> {
    const done = await this.#run(
      REDIS_SCRIPTS.rename,
      nameKey(from),
      nameKey(to),
      to,
      memberKey(holder),
    );
    return done === 1;
  }

  async releaseName(name: string, holder: MemberRef): Promise<void> {
    await this.#run(REDIS_SCRIPTS.release, nameKey(name), memberKey(holder), holder.node);
  }

  async lookupName(name: string): Promise<NameEntry | undefined> {
    const entry = await this.#redis.hget(`${this.#prefix}names`, nameKey(name));
    if (entry === null) return undefined;
    const newline = entry.indexOf("\n");
    const holder = parseMember(entry.slice(newline + 1));
    return holder === null ? undefined : { name: entry.slice(0, newline), holder };
  }

  async enter(room: string, member: MemberRef, maxRooms: number): Promise<EnterResult> {
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
    return {
      ok: true,
      online: online ?? 0,
      created: created === 1,
      left: leftRoom ? { room: leftRoom, online: leftOnline ?? 0 } : null,
    };
  }

  async leave(room: string, member: MemberRef): Promise<number> {
    return await this.#run(REDIS_SCRIPTS.leave, room, memberKey(member), member.node) as number;
  }

  async roomOf(member: MemberRef): Promise<string | undefined> {
    return await this.#redis.hget(`${this.#prefix}roomof`, memberKey(member)) ?? undefined;
  }

  async members(room: string): Promise<readonly string[]> {
    return await this.#run(REDIS_SCRIPTS.members, room) as string[];
  }

  async rooms(): Promise<readonly RoomInfo[]> {
    const flat = await this.#run(REDIS_SCRIPTS.rooms) as (string | number)[];
    const list: RoomInfo[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      list.push({ name: String(flat[i]), online: Number(flat[i + 1]) });
    }
    return list.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  async nextId(room: string): Promise<number> {
    return await this.#run(REDIS_SCRIPTS.nextId, room) as number;
  }

  async publish(
    room: string,
    draft: RoomEventDraft,
    origin: MemberRef | null,
  ): Promise<Published> {
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
    return {
      history,
      users,
      epoch,
      position,
      trimmedThrough: trimmed,
      ...(count >= 0 ? { count } : {}),
    };
  }

  async subscribe(room: string, listener: (published: Published) => void): Promise<Subscription> {
    let entry = this.#rooms.get(room);
    if (entry === undefined) {
      entry = { listeners: new Set(), lastId: 0, lastPosition: 0, held: null };
      this.#rooms.set(room, entry);
    }
    const first = entry.listeners.size === 0;
    entry.listeners.add(listener);
    const channel = entry;
    if (first) {
      await this.#sub.subscribe(`${this.#prefix}live:${room}`);
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
          if (!this.#closed) await this.#sub.unsubscribe(`${this.#prefix}live:${room}`);
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
