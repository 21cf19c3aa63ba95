/**
 * The JSON events of protocol version 1 as TypeScript types: what a JSON client sends
 * ({@linkcode ClientEvent}) and what the server sends ({@linkcode ServerEvent}).
 *
 * @module
 */

import type { ErrorCode } from "./errors.ts";

/** The protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;

/** The default TCP port of `chat serve` and `chat join`. */
export const DEFAULT_PORT = 5050;

/** Where a reconnecting client was: the room, the last message id it got, and the epoch. */
export interface ResumePoint {
  /** The room it was in. */
  readonly room: string;
  /** The id of the last message it received in that room. */
  readonly after: number;
  /** The epoch of that room's history, from `welcome` or `moved`. */
  readonly epoch: string;
}

/** `hello`: must be the first event of a JSON connection. */
export interface HelloEvent {
  readonly type: "hello";
  readonly name: string;
  readonly protocol: number;
  readonly client?: string;
  /** Present when the client reconnects: it is put back in that room, sent what it missed. */
  readonly resume?: ResumePoint;
  /** base64url of the client's raw Ed25519 public key: the server answers `challenge`. */
  readonly key?: string;
  /** True from a client that can do TLS: a server with TLS answers `use_tls` on its plain port. */
  readonly tls?: boolean;
  /** The server's password, when it has one (`--password`). */
  readonly password?: string;
  /**
   * True from a client that reads `presence`. Accepted and no longer needed: every member of a
   * large room gets its joins and leaves summarised (the field came from an earlier draft).
   */
  readonly summaries?: boolean;
}
/** `auth`: the answer to `challenge`, the signature of `chat-auth-v1\n` + nonce + `\n` + name. */
export interface AuthEvent {
  readonly type: "auth";
  readonly signature: string;
}
/** `whois`: ask about one member (its identity's fingerprint). */
export interface WhoisEvent {
  readonly type: "whois";
  readonly name: string;
}
/** `say`: a chat message to the room. */
export interface SayEvent {
  readonly type: "say";
  readonly text: string;
}
/** `me`: an action ("* alice waves"). */
export interface MeEvent {
  readonly type: "me";
  readonly text: string;
}
/** `dm`: a private message to one user. */
export interface DmEvent {
  readonly type: "dm";
  readonly to: string;
  readonly text: string;
}
/** `nick`: rename. */
export interface NickEvent {
  readonly type: "nick";
  readonly name: string;
}
/** `who`: ask for the user list. */
export interface WhoEvent {
  readonly type: "who";
}
/** `ping`: keepalive or latency probe, in either direction. */
export interface PingEvent {
  readonly type: "ping";
  readonly id?: string | number;
}
/** `pong`: the answer to a `ping`, in either direction. */
export interface PongEvent {
  readonly type: "pong";
  readonly id?: string | number;
}
/** `bye`: leave cleanly. */
export interface ByeEvent {
  readonly type: "bye";
}
/** `room`: move to a room, creating it when missing. */
export interface RoomMoveEvent {
  readonly type: "room";
  readonly name: string;
}
/** `rooms`: ask for the list of rooms. */
export interface RoomsRequestEvent {
  readonly type: "rooms";
}

/** What an operator does to a member, an identity or an address. */
export type ModAction = "kick" | "ban" | "unban" | "bans" | "mute" | "unmute" | "op" | "deop";

/** Every {@linkcode ModAction}, in the order `/help` lists them. */
export const MOD_ACTIONS: readonly ModAction[] = Object.freeze([
  "kick",
  "ban",
  "unban",
  "bans",
  "mute",
  "unmute",
  "op",
  "deop",
]);

/**
 * `mod` from a client: an operator's command. `target` is a name (or, for `ban` and `unban`, an
 * address or fingerprint); `bans` takes none. `duration` is text such as `10m`, `2h`, `7d`.
 */
export interface ModRequestEvent {
  readonly type: "mod";
  readonly action: ModAction;
  readonly target?: string;
  readonly duration?: string;
  readonly reason?: string;
}

/** Every event a client may send. */
export type ClientEvent =
  | HelloEvent
  | AuthEvent
  | WhoisEvent
  | SayEvent
  | MeEvent
  | DmEvent
  | NickEvent
  | WhoEvent
  | PingEvent
  | PongEvent
  | ByeEvent
  | RoomMoveEvent
  | RoomsRequestEvent
  | ModRequestEvent;

/** The `type` of a client event. */
export type ClientEventType = ClientEvent["type"];

/** The limits a server announces in `welcome`. */
export interface ServerLimits {
  readonly maxMessageBytes: number;
  readonly rateBurst: number;
  readonly ratePerSecond: number;
  readonly pingIntervalSeconds: number;
  readonly idleTimeoutSeconds: number;
}

/** `welcome`: the answer to a good `hello`. */
export interface WelcomeEvent {
  readonly type: "welcome";
  readonly name: string;
  readonly server: string;
  readonly protocol: number;
  readonly users: readonly string[];
  readonly limits: ServerLimits;
  readonly motd?: string;
  /** The room the member is in (absent from a server without rooms). */
  readonly room?: string;
  /** The fingerprint of the identity the member proved, when it gave a key. */
  readonly fingerprint?: string;
  /**
   * For an identity that comes back: how many messages it missed since it left this room, all
   * replayed after `welcome` (at most 1000; a `gap` first when there were more).
   */
  readonly unread?: number;
  /** What the server offers beyond version 1 (`identity`, `tls`, ...). */
  readonly features?: readonly string[];
  /** The epoch of the room's history (see `gap`). */
  readonly epoch?: string;
  /** When the server is a node of a cluster: its name, how many nodes are up, and whether
   * it is cut off from the others for now. */
  readonly cluster?: ClusterStatus;
  /** The TLS certificate's fingerprint, when the server listens for TLS. */
  readonly tls?: string;
  /** True when the member is an operator (its identity is one): op commands are open to it. */
  readonly op?: true;
}

/** What a node of a cluster says of it in `welcome`. */
export interface ClusterStatus {
  readonly name: string;
  readonly nodes: number;
  readonly degraded: boolean;
}
/** `challenge`: the answer to a `hello` with a `key`; the client signs the nonce in `auth`. */
export interface ChallengeEvent {
  readonly type: "challenge";
  readonly nonce: string;
}
/** `whois` from the server: one member, and its identity's fingerprint when it has one. */
export interface WhoisInfoEvent {
  readonly type: "whois";
  readonly name: string;
  readonly fingerprint?: string;
}
/** `message`: a chat message or action in the room. */
export interface MessageEvent {
  readonly type: "message";
  readonly id: number;
  readonly ts: string;
  readonly from: string;
  readonly text: string;
  readonly kind: "say" | "me";
  readonly history?: true;
  /** The room it was said in. */
  readonly room?: string;
  /**
   * True for a message a cluster node delivered to its own members while it could not reach
   * Redis: its `id` is provisional (a client does not resume from it), its `ts` is final.
   */
  readonly pending?: true;
}
/** `dm` from the server: a private message, to its recipient and echoed to its sender. */
export interface DirectMessageEvent {
  readonly type: "dm";
  readonly id: number;
  readonly ts: string;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  /** True for a private message between two members of a node cut off from Redis. */
  readonly pending?: true;
}
/** `join`: someone joined. */
export interface JoinEvent {
  readonly type: "join";
  readonly name: string;
  readonly ts: string;
  readonly online: number;
  /** The room joined. */
  readonly room?: string;
}
/** Why a member left the room. */
export type LeaveReason =
  | "quit"
  | "closed"
  | "timeout"
  | "slow"
  | "flood"
  | "error"
  | "shutdown"
  | "kicked"
  | "banned"
  | "moved"
  | "node_lost";
/** `leave`: someone left. */
export interface LeaveEvent {
  readonly type: "leave";
  readonly name: string;
  readonly ts: string;
  readonly online: number;
  readonly reason: LeaveReason;
  /** The room left. */
  readonly room?: string;
}
/** One member who left, in a `presence` event. */
export interface PresenceLeft {
  readonly name: string;
  readonly reason: LeaveReason;
}
/**
 * `presence`: the join and leave notices of one moment in a large room (`--summary-members`), in
 * one event, to every JSON member of that room. A name is in at most one of the lists,
 * as its last notice says; `online` and `ts` are those of the last notice.
 */
export interface PresenceEvent {
  readonly type: "presence";
  readonly ts: string;
  readonly online: number;
  /** The names that joined (and are still there), in the order they joined. */
  readonly joined: readonly string[];
  /** Those who left (and are still away), in the order they left. */
  readonly left: readonly PresenceLeft[];
  /** The room. */
  readonly room?: string;
}
/** `nick` from the server: someone was renamed. */
export interface NickChangeEvent {
  readonly type: "nick";
  readonly from: string;
  readonly to: string;
  readonly ts: string;
}
/** `who`: the user list. */
export interface WhoListEvent {
  readonly type: "who";
  readonly users: readonly string[];
  /** The fingerprints of the members who proved an identity, by name. */
  readonly fingerprints?: Readonly<Record<string, string>>;
}
/** `moved`: the answer to `room`: the member is now in that room. */
export interface MovedEvent {
  readonly type: "moved";
  readonly room: string;
  readonly users: readonly string[];
  readonly topic?: string;
  /** The epoch of the room's history (see `gap`). */
  readonly epoch?: string;
}
/**
 * `gap`: the replay that follows is not everything after the client's resume point: the
 * history it asked for is gone (another epoch, or trimmed) or too long to replay.
 */
export interface GapEvent {
  readonly type: "gap";
  readonly room: string;
  /** Why: `epoch` (the history was lost or reset), `trimmed` or `too_many`. */
  readonly reason: "epoch" | "trimmed" | "too_many";
  /**
   * How many messages after the resume point are not replayed, when the server counted them
   * (with `too_many`: the kept ones before the 1000 replayed).
   */
  readonly skipped?: number;
}
/** `notice`: something the server says to everyone (the cluster is degraded, and back). */
export interface NoticeEvent {
  readonly type: "notice";
  readonly text: string;
}
/** One room in a {@linkcode RoomListEvent}. */
export interface RoomListEntry {
  readonly name: string;
  readonly online: number;
}
/** `rooms` from the server: every room with its count. */
export interface RoomListEvent {
  readonly type: "rooms";
  readonly rooms: readonly RoomListEntry[];
}
/** `error`: a refusal or protocol error, with a sentence a person can read. */
export interface ErrorEvent {
  readonly type: "error";
  readonly code: ErrorCode;
  readonly message: string;
  /** With `use_tls`: the server's TLS port. */
  readonly tlsPort?: number;
}
/**
 * `mod` from the server: a moderation action, sent to the member it concerns (just before it is
 * closed, for `kick` and `ban`) and to the operator who took it, as its acknowledgement.
 */
export interface ModNoticeEvent {
  readonly type: "mod";
  readonly action: ModAction;
  /** Who or what it concerns: a name, a fingerprint or an address. */
  readonly target: string;
  /** The operator's name. */
  readonly by: string;
  readonly ts: string;
  /** How long, as given (`10m`); absent for "until lifted". */
  readonly duration?: string;
  /** When it ends (ISO 8601); absent for "until lifted". */
  readonly until?: string;
  readonly reason?: string;
}
/** One ban in a {@linkcode BanListEvent}. */
export interface BanEntry {
  /** The banned fingerprint or address. */
  readonly target: string;
  readonly kind: "identity" | "address";
  /** The name it had when banned, if it was banned by name. */
  readonly name?: string;
  /** Who banned it (an operator's name). */
  readonly by: string;
  /** When the ban ends (ISO 8601); absent for "until lifted". */
  readonly until?: string;
  readonly reason?: string;
}
/** `bans`: the answer to `/bans`. */
export interface BanListEvent {
  readonly type: "bans";
  readonly bans: readonly BanEntry[];
}
/** `shutdown`: the server is stopping. */
export interface ShutdownEvent {
  readonly type: "shutdown";
  readonly message: string;
}

/** Every event the server may send. */
export type ServerEvent =
  | WelcomeEvent
  | ChallengeEvent
  | WhoisInfoEvent
  | MessageEvent
  | DirectMessageEvent
  | JoinEvent
  | LeaveEvent
  | PresenceEvent
  | NickChangeEvent
  | WhoListEvent
  | MovedEvent
  | RoomListEvent
  | ErrorEvent
  | PingEvent
  | PongEvent
  | ModNoticeEvent
  | BanListEvent
  | ShutdownEvent
  | GapEvent
  | NoticeEvent;

/** The `type` of a server event. */
export type ServerEventType = ServerEvent["type"];
