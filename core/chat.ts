/**
 * The chat core: members, their names and rooms, and what each command does, on event values.
 * It knows nothing of sockets, bytes or client styles: the shared state is the broker's
 * (`core/broker.ts`), and handing events to this node's connections is the delivery's (in the
 * server, `server/delivery.ts`).
 *
 * @module
 */

import { ProtocolError } from "../protocol/errors.ts";
import type {
  ClusterStatus,
  DirectMessageEvent,
  LeaveReason,
  MessageEvent,
  ResumePoint,
  ServerEvent,
  ServerLimits,
  WelcomeEvent,
} from "../protocol/events.ts";
import { PROTOCOL_VERSION } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { normaliseRoomName } from "../protocol/rooms.ts";
import {
  type Broker,
  BrokerUnavailableError,
  MAIN_ROOM,
  type MemberRef,
  type NameEntry,
  type Published,
  type PublishedDirect,
  type RoomSnapshot,
  type Subscription,
} from "./broker.ts";

/** The features this core offers, listed in `welcome.features` unless the server says more. */
export const FEATURES: readonly string[] = Object.freeze(["rooms"]);

/** What the core itself adds to the features: `hello.resume`, epochs and `gap`. */
const CORE_FEATURES: readonly string[] = ["resume"];

/**
 * The most messages a `hello.resume` is replayed; when more were said since, the latest this
 * many follow a `gap` of reason `too_many`.
 */
export const RESUME_LIMIT = 1000;

/** What the core needs of a member connected to this node. */
export interface ChatMember {
  /** The member's reference, from {@linkcode Chat.newRef}. */
  readonly ref: MemberRef;
  /** False once its connection is closing: a join or move that finishes later is undone. */
  readonly active: boolean;
  /** The fingerprint of the identity it proved, if any (shown by `welcome`, `who`, `whois`). */
  readonly fingerprint?: string | undefined;
  /** True when the member is an operator (`welcome.op`). */
  readonly isOp?: boolean;
}

/**
 * How events reach this node's members: the server's delivery encodes each event once per
 * client style and shares the bytes. Every method is called in the order events must arrive.
 */
export interface Delivery<M extends ChatMember> {
  /** The member gets the events published to `room` from now on. */
  add(room: string, member: M): void;
  /**
   * The member stops getting `room`'s events.
   *
   * @param handOver false when its connection is not read any more (nothing pending is sent)
   */
  remove(room: string, member: M, handOver: boolean): void;
  /**
   * An event published to a room this node is subscribed to.
   *
   * @param origin the member whose action it is, when it is connected here
   */
  publish(published: Published, origin: M | undefined): void;
  /**
   * Hands one event published to a room to one member only (with the same per-style rules as
   * {@linkcode Delivery.publish}): an event that arrived while the member was entering.
   */
  publishTo(member: M, published: Published, origin: M | undefined): void;
  /** Sends one event to one member, after everything its room was sent before. */
  send(member: M, event: ServerEvent): void;
  /** Sends `welcome` (its `users` list may be shared with other joiners: never change it). */
  welcome(member: M, welcome: WelcomeEvent): void;
  /** Replays a room's history, each message marked `history: true`. */
  replay(member: M, messages: readonly MessageEvent[]): void;
}

/** Settings of a {@linkcode Chat}. */
export interface ChatOptions {
  /** Where the shared state lives. */
  readonly broker: Broker;
  /** How many recent messages a joiner (or a member who moves) is sent. */
  readonly historySize: number;
  /** How many rooms may exist at once (`--max-rooms`), `#main` included. */
  readonly maxRooms: number;
  /** The server name sent in `welcome`. */
  readonly serverName: string;
  /** The limits sent in `welcome`. */
  readonly limits: ServerLimits;
  /** The message of the day, if any. */
  readonly motd?: string | undefined;
  /** For a node of a cluster: what `welcome.cluster` says now. */
  readonly cluster?: (() => ClusterStatus) | undefined;
  /** What `welcome.features` lists; {@linkcode FEATURES} by default. */
  readonly features?: readonly string[];
  /** The TLS certificate's fingerprint, sent in `welcome.tls`. */
  readonly tls?: string | undefined;
  /**
   * Where the last message id each identity was sent in each room is remembered, for "since
   * you left": absent, a returning identity gets the recent history like anyone.
   */
  readonly lastSeen?: LastSeen | undefined;
}

/** The last message id an identity was sent in a room, and that room's epoch then. */
export interface LastSeen {
  /** What was recorded for an identity in a room, if anything. */
  get(
    fingerprint: string,
    room: string,
  ): { readonly after: number; readonly epoch: string } | undefined;
  /** Records it (when the identity leaves the room). */
  set(fingerprint: string, room: string, lastId: number, epoch: string): void;
}

interface Local<M> {
  readonly member: M;
  name: string;
  room: string;
}

interface RoomSubscription {
  /** Members of this node in the room. */
  count: number;
  readonly subscription: Promise<Subscription>;
}

/**
 * The chat of one node: who of its members is called what and is in which room, and what each
 * command does. Methods that need the broker are asynchronous; with the in-process broker they
 * finish within the current turn.
 *
 * With a networked broker, a message published in a room while a member enters it (between the
 * history read and the member's first live event) could reach it twice or not at all: the
 * in-process broker cannot interleave there, and a networked one should close the gap with the
 * history's ids (`HistoryQuery.after`), as the persistence work's `resume` will.
 *
 * @example See `core/chat_test.ts` for the core driven without a server, on event values.
 */
export class Chat<M extends ChatMember> {
  readonly #options: ChatOptions;
  readonly #broker: Broker;
  readonly #delivery: Delivery<M>;
  readonly #local = new Map<number, Local<M>>();
  readonly #rooms = new Map<string, RoomSubscription>();
  #direct: Promise<Subscription> | null = null;
  #nextId = 1;
  /**
   * Room to the members entering it, each with the events of the room that arrived since its
   * snapshot was asked for: they are handed over after the snapshot, unless it had them.
   */
  readonly #entering = new Map<string, Map<M, Published[]>>();
  /** `welcome.features`: the server's, and what the core and a cluster add. */
  readonly #features: readonly string[];

  /**
   * @param options the broker, history size, room limit and what `welcome` says
   * @param delivery how events reach this node's members
   */
  constructor(options: ChatOptions, delivery: Delivery<M>) {
    this.#options = options;
    this.#broker = options.broker;
    this.#delivery = delivery;
    this.#features = Object.freeze([
      ...new Set([
        ...(options.features ?? FEATURES),
        ...CORE_FEATURES,
        ...(options.cluster === undefined ? [] : ["cluster"]),
      ]),
    ]);
  }

  /**
   * Subscribes to the private messages of this node's members. The first join does it too; a
   * server calls it at start so that a broker that cannot be reached is noticed then.
   */
  async start(): Promise<void> {
    this.#direct ??= this.#broker.subscribeDirect((published) => this.#onDirect(published));
    await this.#direct;
  }

  /** Makes a reference for a new member of this node. */
  newRef(): MemberRef {
    return { node: this.#broker.node, id: this.#nextId++ };
  }

  /** How many members of this node have joined. */
  get size(): number {
    return this.#local.size;
  }

  /**
   * A member's name, once it has joined.
   *
   * @param member the member
   */
  nameOf(member: M): string | undefined {
    return this.#local.get(member.ref.id)?.name;
  }

  /**
   * Tells whether a member of this node has a name, without regard to case. Only this node's
   * members are known here: the broker decides for the whole chat when the name is claimed.
   *
   * @param name a name
   */
  isLocalName(name: string): boolean {
    const key = nameKey(name);
    for (const local of this.#local.values()) if (nameKey(local.name) === key) return true;
    return false;
  }

  /**
   * The member of this node with a name, without regard to case.
   *
   * @param name a name
   * @returns the member and its name as it spells it, or undefined when no member here has it
   */
  localMember(name: string): { readonly member: M; readonly name: string } | undefined {
    const key = nameKey(name);
    for (const local of this.#local.values()) {
      if (nameKey(local.name) === key) return { member: local.member, name: local.name };
    }
    return undefined;
  }

  /** Every member of this node that has joined, with its name. */
  *localMembers(): Iterable<{ readonly member: M; readonly name: string }> {
    for (const local of this.#local.values()) yield { member: local.member, name: local.name };
  }

  /**
   * The room a member is in, once it has joined.
   *
   * @param member the member
   */
  roomOf(member: M): string | undefined {
    return this.#local.get(member.ref.id)?.room;
  }

  /**
   * Joins a member under a validated name: it lands in `#main` (or, resuming, in the room it
   * was in) and is sent `welcome`, then the room's history (or what it missed, see
   * {@linkcode ResumePoint}); the others are told.
   *
   * @param member the member
   * @param name a valid name
   * @param resume where a reconnecting client was
   * @returns `name_taken`, or how many are in the member's room once joined (0 when the
   *   member's connection closed meanwhile and the join was undone)
   */
  async join(
    member: M,
    name: string,
    resume?: ResumePoint,
  ): Promise<ProtocolError | { readonly online: number }> {
    const broker = this.#broker;
    await this.start();
    if (!(await broker.claimName(name, member.ref))) return nameTaken(name);
    let room = MAIN_ROOM;
    const back = resume === undefined ? undefined : normaliseRoomName(resume.room);
    if (back?.ok === true) room = back.room;
    let entered = await broker.enter(room, member.ref, this.#options.maxRooms);
    if (!entered.ok) {
      // The room it was in is gone and no new one may be made: #main always has a place.
      room = MAIN_ROOM;
      entered = await broker.enter(room, member.ref, this.#options.maxRooms);
    }
    const online = entered.ok ? entered.online : 0;
    await this.#subscribe(room);
    this.#hold(room, member);
    let resuming = back?.ok === true && back.room === room ? resume : undefined;
    // Since you left: an identity coming back is sent what it missed, not the recent history.
    const fingerprint = member.fingerprint;
    let sinceLeft = false;
    if (resuming === undefined && fingerprint !== undefined) {
      const seen = this.#lastSeen(fingerprint, room);
      if (seen !== undefined) {
        resuming = { room, after: seen.after, epoch: seen.epoch };
        sinceLeft = true;
      }
    }
    let snapshot = await broker.snapshot(
      room,
      resuming === undefined
        ? { limit: this.#options.historySize }
        : { limit: RESUME_LIMIT + 1, countAfter: resuming.after },
    );
    let unread: number | undefined;
    if (sinceLeft && resuming !== undefined) {
      const after = resuming.after;
      unread = resuming.epoch === snapshot.epoch
        ? snapshot.history.filter((m) => m.id > after).length
        : 0;
      if (unread === 0) {
        // Nothing new (or that history is gone): the recent history, as for anyone.
        resuming = undefined;
        unread = undefined;
        snapshot = { ...snapshot, history: snapshot.history.slice(-this.#options.historySize) };
        if (this.#options.historySize === 0) snapshot = { ...snapshot, history: [] };
      }
    }
    if (!member.active) {
      this.#release(room, member, undefined);
      await broker.leave(room, member.ref);
      await broker.releaseName(name, member.ref);
      await this.#unsubscribe(room);
      return { online: 0 };
    }
    this.#local.set(member.ref.id, { member, name, room });
    this.#delivery.add(room, member);
    const { motd, tls } = this.#options;
    const cluster = this.#options.cluster?.();
    this.#delivery.welcome(member, {
      type: "welcome",
      name,
      server: this.#options.serverName,
      protocol: PROTOCOL_VERSION,
      ...(fingerprint === undefined ? {} : { fingerprint }),
      ...(unread === undefined ? {} : { unread: Math.min(unread, RESUME_LIMIT) }),
      ...(member.isOp === true ? { op: true as const } : {}),
      users: snapshot.users,
      limits: this.#options.limits,
      ...(motd === undefined ? {} : { motd }),
      room,
      features: this.#features,
      ...(tls === undefined ? {} : { tls }),
      epoch: snapshot.epoch,
      ...(cluster === undefined ? {} : { cluster }),
    });
    this.#replay(member, room, snapshot, resuming);
    this.#release(room, member, snapshot);
    await broker.publish(room, { type: "join", name, online }, member.ref);
    return { online };
  }

  /**
   * Takes a member out of the chat; does nothing for one that has not joined. Its delivery stops
   * at once; the others are told (unless `announce` is false) and its name is freed.
   *
   * @param member the member
   * @param reason why it left
   * @param announce false to leave silently (at shutdown everyone is told at once instead)
   * @returns how many remain in its room, or undefined when it had not joined
   */
  async leave(member: M, reason: LeaveReason, announce = true): Promise<number | undefined> {
    const local = this.#local.get(member.ref.id);
    if (local === undefined) return undefined;
    this.#local.delete(member.ref.id);
    this.#delivery.remove(local.room, member, reason !== "closed" && reason !== "slow");
    await this.#rememberSeen(member, local.room);
    const online = await this.#broker.leave(local.room, member.ref);
    // The members of other nodes are not told by this node's shutdown notice: tell them.
    if (announce || this.#broker.shared) {
      await this.#broker.publish(
        local.room,
        { type: "leave", name: local.name, online, reason },
        member.ref,
      );
    }
    await this.#broker.releaseName(local.name, member.ref);
    await this.#unsubscribe(local.room);
    return online;
  }

  /**
   * Relays a chat message or action to the member's room. Not an `async` function: this is the
   * path of nearly every event, and it hands back the broker's own promise.
   *
   * @param member the sender
   * @param text sanitised, non-blank text
   * @param kind `say` or `me`
   * @returns the message as published, or undefined when the member has not joined
   */
  say(member: M, text: string, kind: "say" | "me"): Promise<Published> | undefined {
    const local = this.#local.get(member.ref.id);
    if (local === undefined) return undefined;
    return this.#broker.publish(
      local.room,
      { type: "message", from: local.name, text, kind },
      member.ref,
    );
  }

  /**
   * Sends a private message to a member of any room, and its echo to the sender.
   *
   * @param member the sender
   * @param to the recipient's name, any case
   * @param text sanitised, non-blank text
   * @returns the message, or `no_such_user`
   */
  async dm(member: M, to: string, text: string): Promise<DirectMessageEvent | ProtocolError> {
    const local = this.#local.get(member.ref.id);
    let sent: PublishedDirect;
    try {
      const entry = await this.#broker.lookupName(to);
      if (local === undefined || entry === undefined) {
        return new ProtocolError("no_such_user", `Nobody called "${to}" is here: try /who`);
      }
      sent = await this.#broker.sendDirect(
        local.room,
        { type: "dm", from: local.name, to: entry.name, text },
        member.ref,
        entry.holder,
      );
    } catch (error) {
      // A cluster node cut off from Redis reaches only its own members.
      if (error instanceof BrokerUnavailableError) {
        return new ProtocolError("no_such_user", error.message);
      }
      throw error;
    }
    const toSelf = sent.to.node === member.ref.node && sent.to.id === member.ref.id;
    if (!toSelf && this.#local.has(member.ref.id)) this.#delivery.send(member, sent.event);
    return sent.event;
  }

  /**
   * Renames a member (the new name already validated) and tells its room, the member too.
   *
   * @param member the member
   * @param name the new name
   * @returns `name_taken` when someone else has it, else undefined
   */
  async rename(member: M, name: string): Promise<ProtocolError | undefined> {
    const local = this.#local.get(member.ref.id);
    if (local === undefined || local.name === name) return undefined;
    if (!(await this.#broker.renameName(local.name, name, member.ref))) return nameTaken(name);
    const old = local.name;
    local.name = name;
    await this.#broker.publish(local.room, { type: "nick", from: old, to: name }, member.ref);
    return undefined;
  }

  /**
   * Sends a member the names of its room's members.
   *
   * @param member the member
   */
  async who(member: M): Promise<void> {
    const local = this.#local.get(member.ref.id);
    if (local === undefined) return;
    const users = await this.#broker.members(local.room);
    if (!this.#local.has(member.ref.id)) return;
    // Identities are known for this node's members (all of them, with the in-process broker).
    const fingerprints: Record<string, string> = {};
    let any = false;
    for (const other of this.#local.values()) {
      if (other.room === local.room && other.member.fingerprint !== undefined) {
        fingerprints[other.name] = other.member.fingerprint;
        any = true;
      }
    }
    this.#delivery.send(member, { type: "who", users, ...(any ? { fingerprints } : {}) });
  }

  /**
   * Sends a member what is known of another's identity, in any room.
   *
   * @param member the member asking
   * @param name the name asked about, any case
   * @returns `no_such_user`, or undefined when answered
   */
  async whois(member: M, name: string): Promise<ProtocolError | undefined> {
    let entry: NameEntry | undefined;
    try {
      entry = await this.#broker.lookupName(name);
    } catch (error) {
      if (error instanceof BrokerUnavailableError) {
        return new ProtocolError("no_such_user", error.message);
      }
      throw error;
    }
    if (entry === undefined) {
      return new ProtocolError("no_such_user", `Nobody called "${name}" is here: try /who`);
    }
    const fingerprint = entry.holder.node === this.#broker.node
      ? this.#local.get(entry.holder.id)?.member.fingerprint
      : undefined;
    if (this.#local.has(member.ref.id)) {
      this.#delivery.send(member, {
        type: "whois",
        name: entry.name,
        ...(fingerprint === undefined ? {} : { fingerprint }),
      });
    }
    return undefined;
  }

  /**
   * Sends a member the list of rooms with their counts.
   *
   * @param member the member
   */
  async rooms(member: M): Promise<void> {
    const rooms = await this.#broker.rooms();
    if (this.#local.has(member.ref.id)) this.#delivery.send(member, { type: "rooms", rooms });
  }

  /**
   * Moves a member to a room, making it when missing: the old room sees `leave` (reason
   * `moved`), the member gets `moved` and the new room's history, the new room sees `join`.
   *
   * @param member the member
   * @param raw the room's name as the client gave it
   * @returns `bad_room` or `too_many_rooms`, else undefined
   */
  async move(member: M, raw: string): Promise<ProtocolError | undefined> {
    const checked = normaliseRoomName(raw);
    if (!checked.ok) return checked.error;
    const room = checked.room;
    const local = this.#local.get(member.ref.id);
    if (local === undefined) return undefined;
    const broker = this.#broker;
    if (local.room === room) {
      const snapshot = await broker.snapshot(room, { limit: 0 });
      if (this.#local.has(member.ref.id)) {
        this.#delivery.send(member, {
          type: "moved",
          room,
          users: snapshot.users,
          epoch: snapshot.epoch,
        });
      }
      return undefined;
    }
    const entered = await broker.enter(room, member.ref, this.#options.maxRooms);
    if (!entered.ok) {
      return new ProtocolError(
        "too_many_rooms",
        `There are already ${this.#options.maxRooms} rooms: join one of them (see /rooms)`,
      );
    }
    await this.#subscribe(room);
    const old = local.room;
    this.#delivery.remove(old, member, true);
    await this.#rememberSeen(member, old);
    local.room = room;
    if (entered.left !== null) {
      await broker.publish(
        old,
        { type: "leave", name: local.name, online: entered.left.online, reason: "moved" },
        member.ref,
      );
    }
    await this.#unsubscribe(old);
    this.#hold(room, member);
    const snapshot = await broker.snapshot(room, { limit: this.#options.historySize });
    if (!member.active || this.#local.get(member.ref.id) !== local) {
      this.#release(room, member, undefined);
      return undefined;
    }
    this.#delivery.add(room, member);
    this.#delivery.send(member, {
      type: "moved",
      room,
      users: snapshot.users,
      epoch: snapshot.epoch,
    });
    this.#delivery.replay(member, snapshot.history);
    this.#release(room, member, snapshot);
    await broker.publish(
      room,
      { type: "join", name: local.name, online: entered.online },
      member.ref,
    );
    return undefined;
  }

  /**
   * Forgets every member of this node without telling anyone, when the shared state no longer
   * has them (the cluster took this node for lost and its members have left there already).
   *
   * @returns the members forgotten, whose connections the server then closes
   */
  forgetAll(): M[] {
    const members: M[] = [];
    for (const [id, local] of [...this.#local]) {
      this.#local.delete(id);
      this.#delivery.remove(local.room, local.member, true);
      void this.#unsubscribe(local.room);
      members.push(local.member);
    }
    return members;
  }

  /** What was recorded for an identity in a room; a failing store only loses the feature. */
  #lastSeen(fingerprint: string, room: string): { after: number; epoch: string } | undefined {
    try {
      return this.#options.lastSeen?.get(fingerprint, room);
    } catch {
      return undefined;
    }
  }

  /** Records the last message an identity leaving a room was sent there (see "since you left"). */
  async #rememberSeen(member: M, room: string): Promise<void> {
    const store = this.#options.lastSeen;
    const fingerprint = member.fingerprint;
    if (store === undefined || fingerprint === undefined) return;
    const snapshot = await this.#broker.snapshot(room, { limit: 1 });
    // Nothing said yet is id 0: everything said from now on is news to it.
    const last = snapshot.history.at(-1)?.id ?? 0;
    try {
      store.set(fingerprint, room, last, snapshot.epoch);
    } catch {
      // A database that cannot be written only loses this record: the chat goes on.
    }
  }

  /** Lets go of the broker's subscriptions and this node's state there. */
  async close(): Promise<void> {
    for (const [, entry] of this.#rooms) await (await entry.subscription).unsubscribe();
    this.#rooms.clear();
    if (this.#direct !== null) await (await this.#direct).unsubscribe();
    await this.#broker.close();
  }

  /**
   * Replays a snapshot to a member: the recent history, or for a resuming member the messages
   * after its resume point, with a `gap` first when they are not all there.
   */
  #replay(
    member: M,
    room: string,
    snapshot: RoomSnapshot,
    resume: ResumePoint | undefined,
  ): void {
    const history = snapshot.history;
    if (resume === undefined) return this.#delivery.replay(member, history);
    const recent = () => history.slice(Math.max(0, history.length - this.#options.historySize));
    if (resume.epoch !== snapshot.epoch) {
      this.#delivery.send(member, { type: "gap", room, reason: "epoch" });
      return this.#delivery.replay(member, recent());
    }
    const missed = history.filter((message) => message.id > resume.after);
    // Messages after the resume point that retention dropped are not counted anywhere (ids are
    // shared with private messages, so their difference is no count): with any dropped, the
    // number skipped is unknown and `skipped` is left out rather than guessed.
    const trimmed = snapshot.trimmedThrough > resume.after;
    if (missed.length > RESUME_LIMIT) {
      const count = snapshot.count;
      this.#delivery.send(member, {
        type: "gap",
        room,
        reason: "too_many",
        ...(count === undefined || trimmed ? {} : { skipped: count - RESUME_LIMIT }),
      });
      return this.#delivery.replay(member, missed.slice(missed.length - RESUME_LIMIT));
    }
    if (trimmed) this.#delivery.send(member, { type: "gap", room, reason: "trimmed" });
    this.#delivery.replay(member, missed);
  }

  /** Starts keeping the events of a room that arrive for a member while it enters. */
  #hold(room: string, member: M): void {
    let waiting = this.#entering.get(room);
    if (waiting === undefined) this.#entering.set(room, waiting = new Map());
    waiting.set(member, []);
  }

  /**
   * Stops keeping them and hands the member those after its snapshot (none when `snapshot` is
   * undefined: the member did not enter after all). A member enters a room before its `join`
   * is published, so a `join` of someone the snapshot already lists, or a `leave` of someone it
   * does not, is news the member already has, and is left out.
   */
  #release(room: string, member: M, snapshot: RoomSnapshot | undefined): void {
    const waiting = this.#entering.get(room);
    const held = waiting?.get(member);
    if (waiting === undefined || held === undefined) return;
    waiting.delete(member);
    if (waiting.size === 0) this.#entering.delete(room);
    if (snapshot === undefined || held.length === 0) return;
    for (const published of held) {
      if (published.position <= snapshot.position) continue;
      const event = published.event;
      // Searched from the end, where a name that entered after the snapshot's users were read
      // is: a set of the whole room per joiner made a join storm cost O(members²), since in a
      // storm nearly every joiner holds a join or two of the others.
      if (event.type === "join" || event.type === "leave") {
        const listed = snapshot.users.lastIndexOf(event.name) !== -1;
        if (listed === (event.type === "join")) continue;
      }
      this.#delivery.publishTo(member, published, this.#originOf(published));
    }
  }

  #originOf(published: Published): M | undefined {
    const origin = published.origin;
    return origin !== null && origin.node === this.#broker.node
      ? this.#local.get(origin.id)?.member
      : undefined;
  }

  /** Counts one more member of this node in a room, subscribing for the first. */
  async #subscribe(room: string): Promise<void> {
    let entry = this.#rooms.get(room);
    if (entry === undefined) {
      entry = {
        count: 0,
        subscription: this.#broker.subscribe(room, (published) => this.#onPublished(published)),
      };
      this.#rooms.set(room, entry);
    }
    entry.count++;
    await entry.subscription;
  }

  /** Counts one member of this node fewer in a room, unsubscribing after the last. */
  async #unsubscribe(room: string): Promise<void> {
    const entry = this.#rooms.get(room);
    if (entry === undefined || --entry.count > 0) return;
    this.#rooms.delete(room);
    await (await entry.subscription).unsubscribe();
  }

  #onPublished(published: Published): void {
    const origin = this.#originOf(published);
    this.#delivery.publish(published, origin);
    const event = published.event;
    if (event.type === "nick" && origin !== undefined) this.#renamedByBroker(origin, event);
    const waiting = this.#entering.get(published.room);
    if (waiting !== undefined) { for (const held of waiting.values()) held.push(published); }
  }

  /**
   * A `nick` of a member of this node that it did not ask for (its own rename has changed its
   * name before the event comes): a cluster node coming back after Redis was unreachable found
   * the name given to someone else meanwhile, and renamed this member. Follows it, and says why.
   */
  #renamedByBroker(member: M, event: { readonly from: string; readonly to: string }): void {
    const local = this.#local.get(member.ref.id);
    if (local === undefined || local.name !== event.from || event.from === event.to) return;
    local.name = event.to;
    this.#delivery.send(member, {
      type: "notice",
      text: `While this server could not reach the rest of the cluster, another server gave ` +
        `the name "${event.from}" to someone else, who keeps it: you are "${event.to}" now ` +
        `(/nick to choose another)`,
    });
  }

  #onDirect(published: PublishedDirect): void {
    const local = this.#local.get(published.to.id);
    if (local !== undefined) this.#delivery.send(local.member, published.event);
  }
}

function nameTaken(name: string): ProtocolError {
  return new ProtocolError("name_taken", `The name "${name}" is taken: choose another`);
}
