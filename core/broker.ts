/**
 * The broker: where the shared state of a chat lives, behind one interface, so that a server
 * can keep it in its own memory (the default, {@linkcode InProcessBroker}), in an embedded
 * database, or in Redis shared by several servers, without the chat core noticing.
 *
 * The broker owns:
 * - the **name directory**: names are unique server-wide (cluster-wide), compared without case;
 * - **rooms and presence**: which member is in which room, the rooms that exist, their counts;
 * - **ids and time**: one increasing message id sequence per room (shared by `message` and
 *   `dm`), and the timestamp of every event;
 * - **history**: the recent `message` events of each room;
 * - **publish/subscribe**: events published to a room reach every node subscribed to it, in
 *   the order the broker assigned; private messages reach the node of their recipient.
 *
 * It knows nothing of sockets, bytes or client styles: it moves event values. Encoding (once
 * per client style, shared by every recipient) is the business of the node's delivery.
 *
 * Every call that a networked broker needs a round trip for returns a promise. A caller must
 * not assume it settles in the same turn; the in-process broker does settle at once, and it
 * calls subscribers synchronously inside {@linkcode Broker.publish}, which is what lets the
 * node's fan-out gather everything published in one turn into one write per member.
 *
 * The contract every implementation must meet is the test suite in
 * `tests/support/broker_contract.ts`; run it against a new implementation with
 * `brokerContract("name", makeBroker)`.
 *
 * @module
 */

import type {
  DirectMessageEvent,
  JoinEvent,
  LeaveEvent,
  MessageEvent,
  NickChangeEvent,
} from "../protocol/events.ts";

/**
 * The broker cannot do this now: a node of a cluster cut off from the shared state was asked
 * for something only the cluster knows (a member of another node). The message says to try
 * again later.
 */
export class BrokerUnavailableError extends Error {
  /** @param message one sentence a person can act on */
  constructor(message: string) {
    super(message);
    this.name = "BrokerUnavailableError";
  }
}

/** The room every member starts in and `/part` returns to; it always exists. */
export const MAIN_ROOM = "#main";

/** The default of `--max-rooms`: how many rooms may exist at once, `#main` included. */
export const DEFAULT_MAX_ROOMS = 1000;

/**
 * A member, wherever it is connected: the node (server process) that holds its connection, and
 * a number unique on that node for the node's lifetime. Two references are the same member when
 * both fields are equal.
 */
export interface MemberRef {
  /** The node's id ({@linkcode Broker.node} of the broker that node uses). */
  readonly node: string;
  /** Unique within the node, never reused while the node runs. */
  readonly id: number;
}

/** A name in the directory, and who holds it. */
export interface NameEntry {
  /** The name as its holder spelled it (case kept). */
  readonly name: string;
  /** Who holds it. */
  readonly holder: MemberRef;
}

/** One room in the list `rooms()` gives. */
export interface RoomInfo {
  /** The room's name, `#` and lower case. */
  readonly name: string;
  /** How many members are in it. */
  readonly online: number;
}

/**
 * The events a room carries. Each is published without `ts` (and a message without `id`); the
 * broker fills them in and adds `room`.
 */
export type RoomEvent = MessageEvent | JoinEvent | LeaveEvent | NickChangeEvent;

/** What a caller publishes: the event before the broker gave it its id, time and room. */
export type RoomEventDraft =
  | Omit<MessageEvent, "id" | "ts" | "room" | "history">
  | Omit<JoinEvent, "ts" | "room">
  | Omit<LeaveEvent, "ts" | "room">
  | Omit<NickChangeEvent, "ts">;

/** A private message before the broker gave it its id and time. */
export type DirectDraft = Omit<DirectMessageEvent, "id" | "ts">;

/** An event as the broker delivers it to subscribers. */
export interface Published {
  /** The room it was published to. */
  readonly room: string;
  /** The event, with the `ts` (and for a message the `id`) the broker assigned. */
  readonly event: RoomEvent;
  /**
   * The member whose action it was (the sender of a message, the member who joined, left or
   * was renamed), or null for a server notice. Delivery uses it for the per-style rules: a text
   * client never gets its own chat lines back, a joiner never gets its own `join`.
   */
  readonly origin: MemberRef | null;
  /**
   * Where the event stands among every event of its room: it grows with each event published
   * to the room (not by one on every broker), so a node can tell whether an event came before
   * or after a {@linkcode RoomSnapshot} it read.
   */
  readonly position: number;
}

/**
 * What a member entering a room needs, read at one instant: its recent history, who is there,
 * the epoch of its history, and the position of the last event published before the read.
 * Events with a greater {@linkcode Published.position} are not in it.
 */
export interface RoomSnapshot {
  /** The messages asked for, oldest first (without `history: true`). */
  readonly history: readonly MessageEvent[];
  /** The members' names, as {@linkcode Broker.members} gives them. */
  readonly users: readonly string[];
  /**
   * The epoch of the room's history: a random string that changes whenever that history was
   * lost or started again (the room was forgotten, Redis lost its data). Empty for a room that
   * does not exist.
   */
  readonly epoch: string;
  /** The position of the last event published to the room before this read. */
  readonly position: number;
  /**
   * Every message of the room with an id at most this one is no longer kept (0 while nothing
   * was dropped): a resume after an older id has a gap.
   */
  readonly trimmedThrough: number;
  /**
   * When the query asked for it: how many messages of the room with an id greater than the
   * query's `countAfter` are kept, counted at the same instant as the rest.
   */
  readonly count?: number;
}

/** A private message as the broker delivers it to the recipient's node. */
export interface PublishedDirect {
  /** The message, with its id (from the sequence of `room`) and time. */
  readonly event: DirectMessageEvent;
  /** The room whose id sequence numbered it: the sender's room. */
  readonly room: string;
  /** The sender. */
  readonly origin: MemberRef;
  /** The recipient, a member of the node the message is delivered to. */
  readonly to: MemberRef;
}

/** The result of {@linkcode Broker.enter}. */
export type EnterResult =
  | {
    readonly ok: true;
    /** How many members the room has now, the new one included. */
    readonly online: number;
    /** True when this call created the room. */
    readonly created: boolean;
    /** The room the member left to enter this one, with the count it has left, or null. */
    readonly left: { readonly room: string; readonly online: number } | null;
  }
  | {
    readonly ok: false;
    /** The room does not exist and `maxRooms` rooms already do. */
    readonly reason: "too_many_rooms";
  };

/** A subscription of a node to a room, or to the private messages of its members. */
export interface Subscription {
  /** Stops the delivery. Calling it twice does nothing. */
  unsubscribe(): Promise<void>;
}

/** What {@linkcode Broker.history} should return. */
export interface HistoryQuery {
  /** At most this many messages: the most recent ones. */
  readonly limit: number;
  /** Only messages with an id greater than this one. */
  readonly after?: number;
  /**
   * Also count every kept message with an id greater than this one, however many `limit` lets
   * through ({@linkcode RoomSnapshot.count}): what a resume that is cut short tells the client
   * it skipped. Only {@linkcode Broker.snapshot} reads it.
   */
  readonly countAfter?: number;
}

/**
 * Where the shared state of the chat lives. See the module documentation for what it owns and
 * `tests/support/broker_contract.ts` for the exact contract.
 *
 * Room names given to a broker are already valid and normalised (`#` then lower case, see
 * `normaliseRoomName` in `protocol/rooms.ts`); names are already valid member names. A broker
 * compares member names without regard to case (`nameKey` of `protocol/names.ts`).
 */
export interface Broker {
  /** This node's id, used in every {@linkcode MemberRef} the node makes. */
  readonly node: string;

  /**
   * True when other nodes share this state: a node that lets its members go must then tell
   * their rooms even when its own members are told otherwise (at shutdown).
   */
  readonly shared: boolean;

  // ---- the name directory ----

  /**
   * Claims a name for a member, atomically: it succeeds only when nobody holds the name (in any
   * case). A member that already holds the name may claim it again (true).
   *
   * @param name a valid name
   * @param holder the member claiming it
   * @returns true when the member now holds it
   */
  claimName(name: string, holder: MemberRef): Promise<boolean>;

  /**
   * Moves a member from one name to another atomically (`/nick`): the new name is claimed, the
   * old one released, and the presence lists show the new name. A change of case only is
   * allowed (the key is the same).
   *
   * @param from the name the member holds now
   * @param to the new name, valid
   * @param holder the member
   * @returns false, with nothing changed, when someone else holds `to`
   */
  renameName(from: string, to: string, holder: MemberRef): Promise<boolean>;

  /**
   * Releases a name, if this member holds it; otherwise does nothing.
   *
   * @param name the name
   * @param holder the member releasing it
   */
  releaseName(name: string, holder: MemberRef): Promise<void>;

  /**
   * Looks a name up, without regard to case.
   *
   * @param name any name
   * @returns its entry, or undefined when nobody holds it
   */
  lookupName(name: string): Promise<NameEntry | undefined>;

  // ---- rooms and presence ----

  /**
   * Puts a member (that holds a name) into a room, creating the room when it does not exist and
   * fewer than `maxRooms` rooms do. A member already in another room leaves it first (a room it
   * was the last member of is forgotten, which frees its place); when the move is refused the
   * member stays where it was. The broker publishes neither `leave` nor `join`: the caller
   * does, with the counts {@linkcode Broker.leave} and this return.
   *
   * @param room a normalised room name
   * @param member the member, holding a name
   * @param maxRooms how many rooms may exist at once, `#main` included
   * @returns the new count, or `too_many_rooms`
   */
  enter(room: string, member: MemberRef, maxRooms: number): Promise<EnterResult>;

  /**
   * Takes a member out of a room. A room other than {@linkcode MAIN_ROOM} that becomes empty is
   * forgotten: it is no longer listed, and its id sequence starts again if it is made anew (an
   * implementation that persists history may keep its messages).
   *
   * @param room the room
   * @param member the member; nothing happens if it is not in the room
   * @returns how many members remain in the room
   */
  leave(room: string, member: MemberRef): Promise<number>;

  /**
   * The room a member is in, if any.
   *
   * @param member the member
   * @returns the room's name, or undefined
   */
  roomOf(member: MemberRef): Promise<string | undefined>;

  /**
   * The names of a room's members (for `who`, `welcome` and `moved`), in the order they entered.
   * The array is the caller's to read at once, never to change: an implementation may hand the
   * same array to later callers and append to it as members enter (the in-process broker does,
   * so a storm of joins costs no copy per join). A caller that keeps it must copy it.
   *
   * @param room the room
   * @returns the names; empty for a room that does not exist
   */
  members(room: string): Promise<readonly string[]>;

  /**
   * Every room that exists, {@linkcode MAIN_ROOM} always among them, sorted by name.
   *
   * @returns the rooms with their counts
   */
  rooms(): Promise<readonly RoomInfo[]>;

  // ---- ids, events and history ----

  /**
   * Takes the next id of a room's sequence (the one `message` and `dm` share).
   *
   * @param room the room
   * @returns an id greater than every id taken before in this room
   */
  nextId(room: string): Promise<number>;

  /**
   * Publishes an event to a room: the broker gives it its time (and a message its id from the
   * room's sequence), adds `room`, keeps a message in the room's history, and delivers it to
   * every subscriber of the room, each in the same order. The in-process broker calls the
   * subscribers before this returns.
   *
   * @param room the room
   * @param draft the event without `ts`, `id` and `room`
   * @param origin the member whose action it is, or null
   * @returns the event as delivered
   */
  publish(room: string, draft: RoomEventDraft, origin: MemberRef | null): Promise<Published>;

  /**
   * Sends a private message: it gets its id from the sequence of the sender's room and its time,
   * and is delivered to the direct subscription of the recipient's node. It is not kept in any
   * history. The echo to the sender is the caller's business.
   *
   * @param room the sender's room
   * @param draft the message without `id` and `ts`
   * @param origin the sender
   * @param to the recipient (from {@linkcode Broker.lookupName})
   * @returns the message as delivered
   */
  sendDirect(
    room: string,
    draft: DirectDraft,
    origin: MemberRef,
    to: MemberRef,
  ): Promise<PublishedDirect>;

  /**
   * The recent messages of a room, oldest first, for replay on join and on a move.
   *
   * @param room the room
   * @param query how many, and after which id
   * @returns the messages, as published (without `history: true`; the caller marks replays)
   */
  history(room: string, query: HistoryQuery): Promise<readonly MessageEvent[]>;

  /**
   * The history, members, epoch and position of a room at one instant, for a member entering
   * it: events published after it carry a greater position.
   *
   * @param room the room
   * @param query how many messages, and after which id
   * @returns the snapshot
   */
  snapshot(room: string, query: HistoryQuery): Promise<RoomSnapshot>;

  /**
   * Subscribes this node to a room: every event published to it from now on is handed to
   * `listener`, in order, until the subscription ends. Once the promise resolves, no event
   * published afterwards is missed. A node subscribes once per room it has members in.
   *
   * @param room the room
   * @param listener takes each event; must not throw
   * @returns the subscription
   */
  subscribe(room: string, listener: (published: Published) => void): Promise<Subscription>;

  /**
   * Subscribes this node to the private messages sent to its members.
   *
   * @param listener takes each message; must not throw
   * @returns the subscription
   */
  subscribeDirect(listener: (published: PublishedDirect) => void): Promise<Subscription>;

  /**
   * Lets go of everything this node holds (its members' names and presence) and stops every
   * subscription. Calling it twice does nothing.
   */
  close(): Promise<void>;
}
