/**
 * The in-process broker: the chat's shared state in this process's memory. It is the default
 * broker and the one a single server uses. Every promise it returns is already settled, and it
 * hands a published event to the subscribers before `publish` returns, so the node's fan-out
 * gathers everything published in one turn of the event loop into one write per member.
 *
 * @module
 */

import type { DirectMessageEvent, MessageEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import {
  type Broker,
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
import { afterThisTurn } from "./after_this_turn.ts";
import type { RoomRecord, RoomStore, StoreReport } from "./room_store.ts";

/** Options of an {@linkcode InProcessHub}. */
export interface InProcessOptions {
  /** How many recent messages each room keeps (at least the server's `--history`). */
  readonly keepMessages?: number;
  /** The clock that stamps events; a test may fix it. */
  readonly now?: () => Date;
  /**
   * Where rooms and messages are kept across restarts. With a store, events are published in
   * batches: each batch is written in one transaction, and only then reaches the subscribers
   * (so a message anyone saw is stored), and a room emptied of members keeps its history.
   */
  readonly store?: RoomStore;
  /** Told when a batch cannot be written, and when writing works again. */
  readonly report?: StoreReport;
}

/** How long a batch that could not be written waits before it is tried again. */
const RETRY_MS = 1000;
/** Above this rate a batch gathers until a timer instead of the end of the turn (see `#busy`). */
const BUSY_EVENTS_PER_SECOND = 3000;
/** How long a window `#busy` judges the rate over, in milliseconds. */
const BUSY_WINDOW_MS = 100;
/** The most messages kept waiting for a store that keeps failing; older ones are given up. */
const MAX_UNWRITTEN = 100_000;

/** An event published but not yet written, with what it changes once written. */
interface _Pending {
  readonly published: Published | null;
  readonly direct: PublishedDirect | null;
  readonly state: RoomState;
}

/** How many messages a room keeps unless told otherwise. */
export const DEFAULT_KEEP_MESSAGES = 100;

/**
 * What the hub knows of one member, in one record: the name it holds and the room it is in.
 * Made when it claims a name or enters a room, dropped when it holds neither, and found by its
 * node and id without building a key: an idle member costs this record and an entry in three
 * collections (its node's, the name directory's and its room's), which a join storm of
 * thousands multiplies.
 */
interface MemberRecord {
  /** The reference it was first seen with. */
  readonly ref: MemberRef;
  /** The name it holds, as it spells it. */
  name: string | undefined;
  /** The room it is in. */
  room: string | undefined;
}

interface RoomState {
  /** Its members, in the order they entered. */
  readonly members: Set<MemberRecord>;
  /**
   * The members' names in entry order, made when asked for. An entry appends to it in place; a
   * leave or a rename drops it, to be made afresh. A join storm thus costs no copy per join.
   */
  names: string[] | null;
  lastId: number;
  readonly history: MessageEvent[];
  /** The room's name. */
  readonly name: string;
  /** The epoch of its history, new with each life of the room (kept by a store). */
  readonly epoch: string;
  /** The id of the last message dropped from its history, 0 while none was. */
  trimmed: number;
}

const SETTLED = Promise.resolve();

/** The millisecond {@linkcode isoNow} last made a string for, and that string. */
let isoMs = NaN;
let isoText = "";

/**
 * The current time as `toISOString` writes it, made once per millisecond of the clock:
 * `toISOString` costs about half a microsecond, as much as the rest of publishing a message,
 * and a busy room publishes many events within one millisecond.
 */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/**
 * The state that the nodes of one in-process chat share. A server makes one with one node
 * ({@linkcode InProcessBroker}); tests make several nodes on one hub to check what crosses
 * nodes.
 */
export class InProcessHub {
  readonly #keep: number;
  /** The time that stamps an event, as PROTOCOL.md writes it (ISO 8601, UTC, milliseconds). */
  readonly #timestamp: () => string;
  /** Name key to the member that holds the name. */
  readonly #names = new Map<string, MemberRecord>();
  readonly #rooms = new Map<string, RoomState>();
  /** Node to its members with a name or a room, by id. */
  readonly #members = new Map<string, Map<number, MemberRecord>>();
  /** Room to the listeners subscribed to it; a subscription outlives the room being forgotten. */
  readonly #subscribers = new Map<string, Set<(published: Published) => void>>();
  /** Node to the listeners of its members' private messages. */
  readonly #direct = new Map<string, Set<(published: PublishedDirect) => void>>();
  /** The position of the last event published, on any room: it only grows. */
  #position = 0;
  /** The position of the last event handed to the subscribers (with a store, after its write). */
  #delivered = 0;
  readonly #store: RoomStore | undefined;
  readonly #report: StoreReport | undefined;
  /** Events waiting for the next batch, in order. */
  #pending: _Pending[] = [];
  /** Messages written by no batch yet because the store failed: tried again with the next. */
  #unwritten: MessageEvent[] = [];
  #failing = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves when the batch being gathered has been written and delivered. */
  #flushed: Promise<void> | null = null;
  /** Where the window of `#busy` started, and the events published in it. */
  #windowStart = 0;
  #windowEvents = 0;
  #wasBusy = false;
  #resolveFlushed: (() => void) | null = null;

  /** @param options how much history to keep, the clock, and a store */
  constructor(options: InProcessOptions = {}) {
    this.#keep = options.keepMessages ?? DEFAULT_KEEP_MESSAGES;
    const now = options.now;
    this.#timestamp = now === undefined ? isoNow : () => now().toISOString();
    this.#store = options.store;
    this.#report = options.report;
    this.#rooms.set(MAIN_ROOM, this.#newRoom(MAIN_ROOM));
  }

  /** True when events go through batches written to a store. */
  get durable(): boolean {
    return this.#store !== undefined;
  }

  /**
   * Resolves once every event published so far is written (or given up for now) and delivered.
   * @internal
   */
  settled(): Promise<void> {
    return this.#flushed ?? SETTLED;
  }

  /**
   * Writes what waits and delivers it now, without waiting for the tick (at shutdown, and
   * before a room is read back from the store).
   */
  flush(): void {
    if (this.#store === undefined) return;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const batch = this.#pending;
    const resolve = this.#resolveFlushed;
    this.#pending = [];
    this.#flushed = null;
    this.#resolveFlushed = null;
    if (batch.length > 0 || this.#unwritten.length > 0) this.#write(batch);
    for (const item of batch) {
      if (item.published !== null) {
        const event = item.published.event;
        if (event.type === "message" && this.#keep > 0) {
          const history = item.state.history;
          history.push(event);
          if (history.length > this.#keep) history.shift();
        }
        this.#delivered = item.published.position;
        const listeners = this.#subscribers.get(item.published.room);
        if (listeners !== undefined) {
          for (const listener of listeners) listener(item.published);
        }
      } else if (item.direct !== null) {
        const listeners = this.#direct.get(item.direct.to.node);
        if (listeners !== undefined) { for (const listener of listeners) listener(item.direct); }
      }
    }
    resolve?.();
  }

  /** Writes a batch's messages and rooms in one transaction; on failure keeps the messages. */
  #write(batch: readonly _Pending[]): void {
    const store = this.#store!;
    const rooms = new Map<string, RoomRecord>();
    const messages = this.#unwritten;
    for (const item of batch) {
      const state = item.state;
      rooms.set(state.name, {
        name: state.name,
        epoch: state.epoch,
        lastId: state.lastId,
        trimmed: 0,
      });
      const event = item.published?.event;
      if (event?.type === "message") messages.push(event);
    }
    try {
      store.write([...rooms.values()], messages);
      this.#unwritten = [];
      if (this.#failing) {
        this.#failing = false;
        this.#report?.recovered(messages.length);
      }
    } catch (error) {
      // The chat goes on from memory; the messages wait for the next batch, or the retry.
      if (messages.length > MAX_UNWRITTEN) messages.splice(0, messages.length - MAX_UNWRITTEN);
      this.#unwritten = messages;
      this.#failing = true;
      this.#report?.failed(error, messages.length);
      this.#flushTimer ??= setTimeout(() => this.flush(), RETRY_MS);
    }
  }

  /**
   * True while events are published faster than `BUSY_EVENTS_PER_SECOND`, judged over the last
   * window of `BUSY_WINDOW_MS`. A commit costs about 40 us whatever it holds,
   * so at such rates a batch waits for a timer (about 2 ms) instead of the end of the turn and
   * carries several turns' events: a commit per turn would cost a third more CPU per delivery in
   * the benchmark's closed loop, while at a chat's ordinary rates the wait would only add latency.
   */
  #busy(): boolean {
    const now = performance.now();
    const elapsed = now - this.#windowStart;
    if (elapsed >= BUSY_WINDOW_MS) {
      this.#wasBusy = this.#windowEvents * 1000 / elapsed > BUSY_EVENTS_PER_SECOND;
      this.#windowStart = now;
      this.#windowEvents = 0;
    }
    return this.#wasBusy;
  }

  /** Queues an event for the next batch, which is gathered until the event loop's next turn. */
  #enqueue(item: _Pending): void {
    this.#pending.push(item);
    this.#windowEvents++;
    if (this.#flushed === null) {
      this.#flushed = new Promise((resolve) => this.#resolveFlushed = resolve);
    }
    if (this.#pending.length === 1) {
      // The batch is what this turn of the event loop publishes (a busy store gathers a little
      // longer, see #busy); a retry waiting for the store is overtaken by it (flush writes what
      // was left unwritten first).
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
      if (this.#busy()) {
        this.#flushTimer = setTimeout(() => this.flush(), 0);
      } else {
        afterThisTurn(() => {
          if (this.#pending.length > 0) this.flush();
        });
      }
    }
  }

  /** Stops the retry timer and writes what waits (the store stays open). @internal */
  stop(): void {
    this.flush();
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  /**
   * A broker for one node of this hub.
   *
   * @param node the node's id, unique on this hub
   * @returns the node's broker
   */
  node(node: string): InProcessBroker {
    return new InProcessBroker(this, node, true);
  }

  /** @internal */
  claimName(name: string, holder: MemberRef): boolean {
    const key = nameKey(name);
    const entry = this.#names.get(key);
    if (entry !== undefined) {
      if (!sameMember(entry.ref, holder)) return false;
      if (entry.name === name) return true;
    }
    const record = this.#record(holder);
    const old = record.name === undefined ? undefined : nameKey(record.name);
    if (old !== undefined && old !== key) this.#names.delete(old);
    this.#names.set(key, record);
    record.name = name;
    this.#namesChanged(record);
    return true;
  }

  /** @internal */
  renameName(from: string, to: string, holder: MemberRef): boolean {
    const current = this.#names.get(nameKey(from));
    if (current === undefined || !sameMember(current.ref, holder)) return false;
    return this.claimName(to, holder);
  }

  /** @internal */
  releaseName(name: string, holder: MemberRef): void {
    const key = nameKey(name);
    const record = this.#names.get(key);
    if (record === undefined || !sameMember(record.ref, holder)) return;
    this.#names.delete(key);
    record.name = undefined;
    this.#namesChanged(record);
    this.#forgetIfIdle(record);
  }

  /** @internal */
  lookupName(name: string): NameEntry | undefined {
    const record = this.#names.get(nameKey(name));
    return record === undefined ? undefined : { name: record.name!, holder: record.ref };
  }

  /** @internal */
  enter(room: string, member: MemberRef, maxRooms: number): EnterResult {
    const current = this.#find(member)?.room;
    let state = this.#rooms.get(room);
    let created = false;
    if (state === undefined) {
      // The room the member leaves is forgotten when it was its last member, which frees a place.
      const freed = current !== undefined && current !== MAIN_ROOM &&
          this.#rooms.get(current)?.members.size === 1
        ? 1
        : 0;
      if (this.#rooms.size - freed >= maxRooms) return { ok: false, reason: "too_many_rooms" };
    }
    const left = current !== undefined && current !== room
      ? { room: current, online: this.leave(current, member) }
      : null;
    if (state === undefined) {
      state = this.#newRoom(room);
      this.#rooms.set(room, state);
      created = true;
    }
    // Found (or made) after the leave above, which forgets a member that holds no name.
    const record = this.#record(member);
    if (!state.members.has(record)) {
      state.members.add(record);
      const name = record.name;
      if (state.names !== null && name !== undefined) state.names.push(name);
      else state.names = null;
    }
    record.room = room;
    return { ok: true, online: state.members.size, created, left };
  }

  /** @internal */
  leave(room: string, member: MemberRef): number {
    const state = this.#rooms.get(room);
    if (state === undefined) return 0;
    const record = this.#find(member);
    if (record !== undefined && state.members.delete(record)) {
      state.names = null;
      if (record.room === room) {
        record.room = undefined;
        this.#forgetIfIdle(record);
      }
    }
    // An empty room other than #main is forgotten (history and id sequence with it); with a
    // store, only from memory: it is read back when someone enters it again.
    if (state.members.size === 0 && room !== MAIN_ROOM) this.#rooms.delete(room);
    return state.members.size;
  }

  /** @internal */
  roomOf(member: MemberRef): string | undefined {
    return this.#find(member)?.room;
  }

  /** @internal */
  members(room: string): readonly string[] {
    const state = this.#rooms.get(room);
    if (state === undefined) return [];
    if (state.names === null) {
      const names: string[] = [];
      for (const record of state.members) {
        if (record.name !== undefined) names.push(record.name);
      }
      state.names = names;
    }
    return state.names;
  }

  /** @internal */
  rooms(): RoomInfo[] {
    const list: RoomInfo[] = [];
    for (const [name, state] of this.#rooms) list.push({ name, online: state.members.size });
    return list.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** @internal */
  nextId(room: string): number {
    return ++this.#room(room).lastId;
  }

  /** @internal */
  publish(room: string, draft: RoomEventDraft, origin: MemberRef | null): Published {
    const state = this.#room(room);
    const ts = this.#timestamp();
    // Fields in the order of PROTOCOL.md, which is the order they go on the wire.
    let event: RoomEvent;
    if (draft.type === "message") {
      const { from, text, kind } = draft;
      const message: MessageEvent = {
        type: "message",
        id: ++state.lastId,
        ts,
        from,
        text,
        kind,
        room,
      };
      if (this.#keep > 0 && this.#store === undefined) {
        state.history.push(message);
        if (state.history.length > this.#keep) state.trimmed = state.history.shift()!.id;
      }
      event = message;
    } else if (draft.type === "nick") {
      event = { type: "nick", from: draft.from, to: draft.to, ts };
    } else if (draft.type === "join") {
      event = { type: "join", name: draft.name, ts, online: draft.online, room };
    } else {
      const { name, online, reason } = draft;
      event = { type: "leave", name, ts, online, reason, room };
    }
    const published: Published = { room, event, origin, position: ++this.#position };
    if (this.#store !== undefined) {
      this.#enqueue({ published, direct: null, state });
      return published;
    }
    this.#delivered = published.position;
    const listeners = this.#subscribers.get(room);
    if (listeners !== undefined) { for (const listener of listeners) listener(published); }
    return published;
  }

  /** @internal */
  sendDirect(room: string, draft: DirectDraft, origin: MemberRef, to: MemberRef): PublishedDirect {
    const event: DirectMessageEvent = {
      type: "dm",
      id: this.nextId(room),
      ts: this.#timestamp(),
      from: draft.from,
      to: draft.to,
      text: draft.text,
    };
    const published: PublishedDirect = { event, room, origin, to };
    if (this.#store !== undefined) {
      // Behind the batch, so its id (from the room's sequence) is stored before it is seen.
      this.#enqueue({ published: null, direct: published, state: this.#room(room) });
      return published;
    }
    const listeners = this.#direct.get(to.node);
    if (listeners !== undefined) { for (const listener of listeners) listener(published); }
    return published;
  }

  /** @internal */
  history(room: string, query: HistoryQuery): MessageEvent[] {
    const state = this.#rooms.get(room);
    if (state === undefined || query.limit <= 0) return [];
    const after = query.after ?? 0;
    const history = state.history;
    let start = history.length;
    while (start > 0 && history[start - 1]!.id > after) start--;
    const found = history.slice(Math.max(start, history.length - query.limit));
    const store = this.#store;
    // Memory holds a recent window only: older messages asked for are read from the store.
    if (
      store !== undefined && found.length < query.limit && start === 0 &&
      (history[0]?.id ?? state.lastId + 1) > after + 1
    ) {
      try {
        const stored = store.messages(room, after, query.limit);
        const newest = stored.at(-1)?.id ?? after;
        const rest = history.filter((m) => m.id > newest);
        const all = [...stored, ...rest];
        return all.slice(Math.max(0, all.length - query.limit));
      } catch (error) {
        this.#report?.failed(error, this.#unwritten.length);
      }
    }
    return found;
  }

  /** @internal */
  snapshot(room: string, query: HistoryQuery): RoomSnapshot {
    const state = this.#rooms.get(room);
    return {
      history: this.history(room, query),
      users: this.members(room),
      epoch: state?.epoch ?? "",
      // What was delivered: events still waiting for their batch reach the subscribers later.
      position: this.#delivered,
      trimmedThrough: this.#store === undefined
        ? state?.trimmed ?? 0
        : this.#store.trimmedThrough(room),
      ...(query.countAfter === undefined ? {} : this.#count(state, query.countAfter)),
    };
  }

  /**
   * How many kept messages of a room come after an id: those in memory, and with a store the
   * older ones it holds (memory keeps the latest window, everything before it is written).
   * Nothing when the store cannot be read: the count is then unknown, not zero.
   */
  #count(state: RoomState | undefined, after: number): { count: number } | Record<never, never> {
    if (state === undefined) return { count: 0 };
    const history = state.history;
    let count = 0;
    for (let i = history.length - 1; i >= 0 && history[i]!.id > after; i--) count++;
    const store = this.#store;
    const first = history[0]?.id ?? state.lastId + 1;
    if (store === undefined || first <= after + 1) return { count };
    try {
      return { count: count + store.count(state.name, after, first) };
    } catch (error) {
      this.#report?.failed(error, this.#unwritten.length);
      return {};
    }
  }

  /** @internal */
  subscribe(room: string, listener: (published: Published) => void): Subscription {
    let listeners = this.#subscribers.get(room);
    if (listeners === undefined) this.#subscribers.set(room, listeners = new Set());
    listeners.add(listener);
    return once(() => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#subscribers.get(room) === listeners) {
        this.#subscribers.delete(room);
      }
    });
  }

  /** @internal */
  subscribeDirect(node: string, listener: (published: PublishedDirect) => void): Subscription {
    let listeners = this.#direct.get(node);
    if (listeners === undefined) this.#direct.set(node, listeners = new Set());
    listeners.add(listener);
    return once(() => listeners.delete(listener));
  }

  /** @internal */
  dropNode(node: string): void {
    const members = this.#members.get(node);
    if (members !== undefined) {
      for (const record of [...members.values()]) {
        if (record.room !== undefined) this.leave(record.room, record.ref);
        if (record.name !== undefined) this.#names.delete(nameKey(record.name));
      }
      this.#members.delete(node);
    }
    this.#direct.delete(node);
  }

  /**
   * The state of a room. A room that does not exist (its last member has just left, and the
   * `leave` is being published) gets a state that is not kept: its event reaches the
   * subscribers, and nothing is remembered.
   */
  #room(room: string): RoomState {
    return this.#rooms.get(room) ?? this.#newRoom(room);
  }

  /** A room's state: read back from the store when it is there, else new. */
  #newRoom(room: string): RoomState {
    const store = this.#store;
    if (store === undefined) return newRoom(room);
    // What waits for its batch may belong to this room: written first, so it is read back.
    if (this.#pending.length > 0) this.flush();
    let stored;
    try {
      stored = store.room(room);
    } catch (error) {
      this.#report?.failed(error, this.#unwritten.length);
    }
    if (stored === undefined) return newRoom(room);
    const state = newRoom(room, stored.epoch);
    state.lastId = stored.lastId;
    state.trimmed = stored.trimmed;
    if (this.#keep > 0) {
      try {
        state.history.push(...store.messages(room, 0, this.#keep));
      } catch (error) {
        this.#report?.failed(error, this.#unwritten.length);
      }
    }
    return state;
  }

  /** The record of a member, if it holds a name or is in a room. */
  #find(member: MemberRef): MemberRecord | undefined {
    return this.#members.get(member.node)?.get(member.id);
  }

  /** The record of a member, made when missing. */
  #record(member: MemberRef): MemberRecord {
    let byId = this.#members.get(member.node);
    if (byId === undefined) this.#members.set(member.node, byId = new Map());
    let record = byId.get(member.id);
    if (record === undefined) {
      byId.set(member.id, record = { ref: member, name: undefined, room: undefined });
    }
    return record;
  }

  /** Drops the record of a member that holds no name and is in no room. */
  #forgetIfIdle(record: MemberRecord): void {
    if (record.name !== undefined || record.room !== undefined) return;
    const node = record.ref.node;
    const byId = this.#members.get(node);
    if (byId?.get(record.ref.id) !== record) return;
    byId.delete(record.ref.id);
    if (byId.size === 0) this.#members.delete(node);
  }

  /** A member's name changed: the presence list of its room is stale. */
  #namesChanged(member: MemberRecord): void {
    const room = member.room;
    if (room !== undefined) {
      const state = this.#rooms.get(room);
      if (state !== undefined) state.names = null;
    }
  }
}

function newRoom(name: string, epoch = crypto.randomUUID().slice(0, 8)): RoomState {
  return { name, members: new Set(), names: null, lastId: 0, history: [], epoch, trimmed: 0 };
}

/** A subscription that ends once, however often it is ended. */
function once(end: () => void): Subscription {
  let active = true;
  return {
    unsubscribe() {
      if (active) {
        active = false;
        end();
      }
      return SETTLED;
    },
  };
}

function sameMember(a: MemberRef, b: MemberRef): boolean {
  return a.node === b.node && a.id === b.id;
}

/**
 * The default {@linkcode Broker}: one node on its own {@linkcode InProcessHub}.
 *
 * @example A message published reaches the room's subscriber
 * ```ts
 * import assert from "node:assert/strict";
 * import { InProcessBroker } from "./in_process_broker.ts";
 * const broker = new InProcessBroker();
 * const seen: string[] = [];
 * await broker.subscribe("#main", (p) => seen.push(p.event.type));
 * const alice = { node: broker.node, id: 1 };
 * assert.ok(await broker.claimName("alice", alice));
 * await broker.enter("#main", alice, 1000);
 * const published = await broker.publish("#main", { type: "message", from: "alice", text: "hi", kind: "say" }, alice);
 * assert.ok(published.event.type === "message" && published.event.id === 1);
 * assert.deepEqual(seen, ["message"]);
 * ```
 */
export class InProcessBroker implements Broker {
  /** This node's id. */
  readonly node: string;
  /** True for the nodes of a hub that several nodes share ({@linkcode InProcessHub.node}). */
  readonly shared: boolean;
  readonly #hub: InProcessHub;
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;

  /**
   * @param hub the shared state (a new one by default)
   * @param node this node's id
   * @param shared whether other nodes share the hub
   */
  constructor(hub: InProcessHub = new InProcessHub(), node = "local", shared = false) {
    this.#hub = hub;
    this.node = node;
    this.shared = shared;
  }

  /** Makes a broker on a hub of its own, with options. */
  static create(options: InProcessOptions = {}): InProcessBroker {
    return new InProcessBroker(new InProcessHub(options));
  }

  claimName(name: string, holder: MemberRef): Promise<boolean> {
    return Promise.resolve(this.#hub.claimName(name, holder));
  }

  renameName(from: string, to: string, holder: MemberRef): Promise<boolean> {
    return Promise.resolve(this.#hub.renameName(from, to, holder));
  }

  releaseName(name: string, holder: MemberRef): Promise<void> {
    this.#hub.releaseName(name, holder);
    return SETTLED;
  }

  lookupName(name: string): Promise<NameEntry | undefined> {
    return Promise.resolve(this.#hub.lookupName(name));
  }

  enter(room: string, member: MemberRef, maxRooms: number): Promise<EnterResult> {
    return Promise.resolve(this.#hub.enter(room, member, maxRooms));
  }

  leave(room: string, member: MemberRef): Promise<number> {
    return Promise.resolve(this.#hub.leave(room, member));
  }

  roomOf(member: MemberRef): Promise<string | undefined> {
    return Promise.resolve(this.#hub.roomOf(member));
  }

  members(room: string): Promise<readonly string[]> {
    return Promise.resolve(this.#hub.members(room));
  }

  rooms(): Promise<readonly RoomInfo[]> {
    return Promise.resolve(this.#hub.rooms());
  }

  nextId(room: string): Promise<number> {
    return Promise.resolve(this.#hub.nextId(room));
  }

  publish(room: string, draft: RoomEventDraft, origin: MemberRef | null): Promise<Published> {
    const published = this.#hub.publish(room, draft, origin);
    // With a store, the promise settles once the batch is written and delivered.
    return this.#hub.durable
      ? this.#hub.settled().then(() => published)
      : Promise.resolve(published);
  }

  sendDirect(
    room: string,
    draft: DirectDraft,
    origin: MemberRef,
    to: MemberRef,
  ): Promise<PublishedDirect> {
    const published = this.#hub.sendDirect(room, draft, origin, to);
    return this.#hub.durable
      ? this.#hub.settled().then(() => published)
      : Promise.resolve(published);
  }

  history(room: string, query: HistoryQuery): Promise<readonly MessageEvent[]> {
    return Promise.resolve(this.#hub.history(room, query));
  }

  snapshot(room: string, query: HistoryQuery): Promise<RoomSnapshot> {
    return Promise.resolve(this.#hub.snapshot(room, query));
  }

  subscribe(room: string, listener: (published: Published) => void): Promise<Subscription> {
    return Promise.resolve(this.#track(this.#hub.subscribe(room, listener)));
  }

  subscribeDirect(listener: (published: PublishedDirect) => void): Promise<Subscription> {
    return Promise.resolve(this.#track(this.#hub.subscribeDirect(this.node, listener)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // What waits for its batch is written and delivered before the subscriptions end.
    if (!this.shared) this.#hub.stop();
    for (const subscription of [...this.#subscriptions]) await subscription.unsubscribe();
    this.#hub.dropNode(this.node);
  }

  #track(subscription: Subscription): Subscription {
    this.#subscriptions.add(subscription);
    return {
      unsubscribe: () => {
        this.#subscriptions.delete(subscription);
        return subscription.unsubscribe();
      },
    };
  }
}
