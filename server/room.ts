/**
 * The chat room: its members and their names, the message sequence, the history, and fan-out.
 * It knows nothing of sockets: a member is anything that can take bytes.
 *
 * @module
 */

import { ProtocolError } from "../protocol/errors.ts";
import type {
  DirectMessageEvent,
  LeaveReason,
  MessageEvent,
  ServerEvent,
  ServerLimits,
  WelcomeEvent,
} from "../protocol/events.ts";
import { PROTOCOL_VERSION } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { FanOut, type FanOutOptions, type RoomMember } from "./fanout.ts";
import { encodeFor, Outgoing } from "./outgoing.ts";
import { encodeJsonWelcome, UserListJson, welcomeTail } from "./welcome.ts";

export type { RoomMember } from "./fanout.ts";

/** Options of a {@linkcode Room}. */
export interface RoomOptions extends FanOutOptions {
  /** How many recent messages to keep and replay on join. */
  readonly historySize: number;
  /** The server name sent in `welcome`. */
  readonly serverName: string;
  /** The limits sent in `welcome`. */
  readonly limits: ServerLimits;
  /** The message of the day, if any. */
  readonly motd?: string | undefined;
  /** The clock; a test may fix it. */
  readonly now?: () => Date;
  /** What the server offers beyond version 1, sent in `welcome.features`. */
  readonly features?: readonly string[];
  /** The TLS certificate's fingerprint, sent in `welcome.tls`. */
  readonly tls?: string;
}

/**
 * A chat room: names, the message sequence and history, and the events of chat. Handing events
 * to the members is left to {@linkcode FanOut}, which gathers broadcasts into shared writes and
 * keeps each member's events in order.
 *
 * @example Two members, one message
 * ```ts
 * import assert from "node:assert/strict";
 * import { Room } from "./room.ts";
 * const got: string[] = [];
 * const member = (tag: string) => ({
 *   style: "line" as const,
 *   deliver: (bytes: Uint8Array) => got.push(tag + ":" + new TextDecoder().decode(bytes)),
 * });
 * const room = new Room({
 *   historySize: 10,
 *   serverName: "test",
 *   limits: { maxMessageBytes: 4096, rateBurst: 10, ratePerSecond: 5, pingIntervalSeconds: 30, idleTimeoutSeconds: 75 },
 *   schedule: (flush) => queueMicrotask(flush),
 * });
 * const alice = member("alice");
 * const bob = member("bob");
 * room.join(alice, "alice");
 * room.join(bob, "bob");
 * room.say(alice, "hi", "say");
 * room.flush();
 * assert.ok(got.includes("bob:alice: hi\n"));
 * ```
 */
export class Room {
  #options: RoomOptions;
  #now: () => Date;
  #fanOut: FanOut;
  #names = new Map<RoomMember, string>();
  #byKey = new Map<string, RoomMember>();
  /** The `users` of `welcome` as JSON bytes, kept up to date as members join. */
  #userList = new UserListJson();
  #welcomeTail: Uint8Array;
  /** Recent messages as replayed on join (`history: true`), each encoded once per style. */
  #history: Outgoing[] = [];
  #nextId = 1;
  /** @param options history size, server name, limits, motd */
  constructor(options: RoomOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#fanOut = new FanOut(options);
    this.#welcomeTail = welcomeTail({
      limits: options.limits,
      ...(options.motd === undefined ? {} : { motd: options.motd }),
      ...(options.features === undefined ? {} : { features: options.features }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
  }

  /** How many members are in the room. */
  get online(): number {
    return this.#names.size;
  }

  /** The members' names, in the order they joined. */
  users(): string[] {
    return [...this.#names.values()];
  }

  /**
   * The current name of a member.
   *
   * @param member a member
   * @returns its name, or undefined when it is not in the room
   */
  nameOf(member: RoomMember): string | undefined {
    return this.#names.get(member);
  }

  /**
   * The fingerprints of the members who proved an identity, by name.
   *
   * @returns the map, empty when nobody has one
   */
  fingerprints(): Record<string, string> {
    const found: Record<string, string> = {};
    for (const [member, name] of this.#names) {
      if (member.fingerprint !== undefined) found[name] = member.fingerprint;
    }
    return found;
  }

  /**
   * The member with a name, without regard to case.
   *
   * @param name a name
   * @returns the member and its name as written, or undefined
   */
  find(name: string): { member: RoomMember; name: string } | undefined {
    const member = this.#byKey.get(nameKey(name));
    const current = member === undefined ? undefined : this.#names.get(member);
    return member === undefined || current === undefined ? undefined : { member, name: current };
  }

  /**
   * Tells whether a name is in use, without regard to case.
   *
   * @param name a valid name
   */
  isTaken(name: string): boolean {
    return this.#byKey.has(nameKey(name));
  }

  /**
   * Adds a member under a name already validated: sends it `welcome` and the history, and tells
   * everyone else.
   *
   * @param member the new member
   * @param name its validated name
   * @returns `name_taken` when the name is in use, else undefined
   */
  join(member: RoomMember, name: string): ProtocolError | undefined {
    const key = nameKey(name);
    if (this.#byKey.has(key)) return nameTaken(name);
    this.#fanOut.add(member);
    this.#byKey.set(key, member);
    this.#names.set(member, name);
    this.#userList.add(name);
    const server = this.#options.serverName;
    if (member.style === "json") {
      // The users list is shared, not copied for each newcomer: in a room of thousands it is
      // most of the frame, and a join storm would otherwise build it once per join.
      const users = this.#userList.bytes(this.#names.values());
      const welcome = {
        type: "welcome",
        name,
        server,
        protocol: PROTOCOL_VERSION,
        ...(member.fingerprint === undefined ? {} : { fingerprint: member.fingerprint }),
      } as const;
      for (const part of encodeJsonWelcome(welcome, users, this.#welcomeTail)) member.deliver(part);
    } else {
      const welcome: WelcomeEvent = {
        type: "welcome",
        name,
        server,
        protocol: PROTOCOL_VERSION,
        users: this.users(),
        limits: this.#options.limits,
        ...(this.#options.motd === undefined ? {} : { motd: this.#options.motd }),
        ...(member.fingerprint === undefined ? {} : { fingerprint: member.fingerprint }),
      };
      this.sendTo(member, welcome);
    }
    // Nothing has been broadcast to the new member yet, so the replay goes straight to it; its
    // bytes are shared by every member that joins while the message is in the history.
    for (const entry of this.#history) member.deliver(entry.bytesFor(member.style));
    this.#broadcast(
      new Outgoing({ type: "join", name, ts: this.#timestamp(), online: this.online }),
      member,
    );
    return undefined;
  }

  /**
   * Removes a member and tells everyone else; does nothing for a member not in the room. A member
   * whose connection ended or could not keep up is not handed the broadcasts it has not had yet:
   * nobody would read them.
   *
   * @param member the member leaving
   * @param reason why it left
   * @param announce false to leave silently (at shutdown everyone is told at once instead)
   */
  leave(member: RoomMember, reason: LeaveReason, announce = true): void {
    const name = this.#names.get(member);
    if (name === undefined) return;
    this.#fanOut.remove(member, reason !== "closed" && reason !== "slow");
    this.#names.delete(member);
    this.#byKey.delete(nameKey(name));
    this.#userList.invalidate();
    if (announce) {
      this.#broadcast(
        new Outgoing({
          type: "leave",
          name,
          ts: this.#timestamp(),
          online: this.online,
          reason,
        }),
        null,
      );
    }
  }

  /**
   * Relays a chat message or action to everyone: JSON members get it back as their
   * acknowledgement, text members never see their own chat lines.
   *
   * @param member the sender, in the room
   * @param text sanitised, non-blank text
   * @param kind `say` or `me`
   * @returns the message as sent
   */
  say(member: RoomMember, text: string, kind: "say" | "me"): MessageEvent {
    const message: MessageEvent = {
      type: "message",
      id: this.#nextId++,
      ts: this.#timestamp(),
      from: this.#names.get(member) ?? "",
      text,
      kind,
    };
    if (this.#options.historySize > 0) {
      this.#history.push(new Outgoing({ ...message, history: true }));
      if (this.#history.length > this.#options.historySize) this.#history.shift();
    }
    this.#broadcast(new Outgoing(message), member.style === "json" ? null : member);
    return message;
  }

  /**
   * Sends a private message to one member and its echo to the sender (JSON senders only; a text
   * sender gets a short confirmation line instead).
   *
   * @param member the sender, in the room
   * @param to the recipient's name, any case
   * @param text sanitised, non-blank text
   * @returns the message, or `no_such_user`
   */
  dm(member: RoomMember, to: string, text: string): DirectMessageEvent | ProtocolError {
    const recipient = this.#byKey.get(nameKey(to));
    if (recipient === undefined) {
      return new ProtocolError("no_such_user", `Nobody called "${to}" is here: try /who`);
    }
    const message: DirectMessageEvent = {
      type: "dm",
      id: this.#nextId++,
      ts: this.#timestamp(),
      from: this.#names.get(member) ?? "",
      to: this.#names.get(recipient) ?? to,
      text,
    };
    this.sendTo(recipient, message);
    if (recipient !== member) this.sendTo(member, message);
    return message;
  }

  /**
   * Renames a member (the new name already validated) and tells everyone, the member too.
   *
   * @param member the member, in the room
   * @param name the new name
   * @returns `name_taken` when another member has that name, else undefined
   */
  rename(member: RoomMember, name: string): ProtocolError | undefined {
    const old = this.#names.get(member);
    if (old === undefined) return undefined;
    const key = nameKey(name);
    const holder = this.#byKey.get(key);
    if (holder !== undefined && holder !== member) return nameTaken(name);
    if (old === name) return undefined;
    this.#byKey.delete(nameKey(old));
    this.#byKey.set(key, member);
    this.#names.set(member, name);
    this.#userList.invalidate();
    this.#broadcast(
      new Outgoing({ type: "nick", from: old, to: name, ts: this.#timestamp() }),
      null,
    );
    return undefined;
  }

  /**
   * Sends one event to one member, after everything broadcast before.
   *
   * @param member the recipient
   * @param event the event
   */
  sendTo(member: RoomMember, event: ServerEvent): void {
    this.sendBytesTo(member, encodeFor(event, member.style, this.#names.get(member)));
  }

  /**
   * Sends bytes already encoded for one member, after everything broadcast before.
   *
   * @param member the recipient
   * @param bytes the bytes, in the member's style
   */
  sendBytesTo(member: RoomMember, bytes: Uint8Array): void {
    this.#fanOut.sendTo(member, bytes);
  }

  /**
   * Sends one event to every member at once (at shutdown, for instance).
   *
   * @param event the event
   */
  announce(event: ServerEvent): void {
    this.#broadcast(new Outgoing(event), null);
  }

  /** Hands everything broadcast so far to the members now. Safe to call at any time. */
  flush(): void {
    this.#fanOut.flush();
  }

  #broadcast(out: Outgoing, except: RoomMember | null): void {
    this.#fanOut.broadcast(out, except);
  }

  #timestamp(): string {
    return this.#now().toISOString();
  }
}

function nameTaken(name: string): ProtocolError {
  return new ProtocolError("name_taken", `The name "${name}" is taken: choose another`);
}
