/**
 * Delivery: hands the events of the chat core to this node's connections. Each room with
 * members here has its own {@linkcode FanOut}, which encodes every event once per client style
 * and shares the bytes among the members of that style; the per-style rules (a JSON client gets
 * its own messages back as acknowledgements, a text client never sees its own chat lines, a
 * joiner never gets its own `join`) are applied here, not in the room.
 *
 * @module
 */

import type { ChatMember, Delivery } from "../core/chat.ts";
import type { Published } from "../core/broker.ts";
import type { MessageEvent, ServerEvent, WelcomeEvent } from "../protocol/events.ts";
import { FanOut, type FanOutOptions, type RoomMember } from "./fanout.ts";
import { encodeFor, joinBytes, Outgoing } from "./outgoing.ts";
import { encodeJsonWelcome, UserListJson, welcomeTail } from "./welcome.ts";

/** What delivery needs of a member: the core's reference, and a way to take bytes. */
export interface DeliveryMember extends ChatMember, RoomMember {
  /** Its current name, so a text client sees its own private message as a confirmation. */
  readonly name: string | undefined;
  /**
   * The room the core has it in (the session asks the core), so that what is sent to it alone
   * follows what its room was sent: delivery keeps no map of its own from members to rooms.
   */
  readonly room: string | undefined;
}

/** One room with members on this node. */
class RoomDelivery {
  readonly fanOut: FanOut;
  /** The `users` array the JSON bytes below were made from, to share them between joiners. */
  users: readonly string[] = [];
  /** How many names of `users` are in the bytes (the broker may append to the same array). */
  encoded = 0;
  readonly userJson = new UserListJson();
  tail: Uint8Array | null = null;
  /** What the tail was made from: the epoch and cluster status change now and then. */
  tailKey = "";

  constructor(options: FanOutOptions) {
    this.fanOut = new FanOut(options);
  }

  /**
   * The `users` of `welcome` as JSON bytes, extended when the list only grew at the end: the
   * same array with names appended (the in-process broker), or a new array that starts with the
   * names already encoded (a broker that hands out copies).
   */
  usersJson(users: readonly string[]): Uint8Array {
    if (users !== this.users) {
      if (!isPrefix(this.users, this.encoded, users)) {
        this.userJson.invalidate();
        this.encoded = 0;
      }
      this.users = users;
    }
    for (let i = this.encoded; i < users.length; i++) this.userJson.add(users[i]!);
    this.encoded = users.length;
    return this.userJson.bytes(users);
  }
}

/** Are the first `count` names of `prefix` the start of `list`? Compared as the same strings. */
function isPrefix(prefix: readonly string[], count: number, list: readonly string[]): boolean {
  if (count > list.length || count > prefix.length) return false;
  for (let i = 0; i < count; i++) if (prefix[i] !== list[i]) return false;
  return true;
}

/**
 * The delivery of one node: a fan-out per room with members here.
 *
 * @example A message reaches the other member of the room, not a member of another room
 * ```ts
 * import assert from "node:assert/strict";
 * import { NodeDelivery } from "./delivery.ts";
 * const got: string[] = [];
 * const member = (id: number, room: string) => ({
 *   ref: { node: "n", id }, active: true, name: `m${id}`, room, style: "line" as const,
 *   // A member left out of a broadcast may be handed an empty buffer, which sends nothing.
 *   deliver: (bytes: Uint8Array) => {
 *     if (bytes.length > 0) got.push(`m${id}:` + new TextDecoder().decode(bytes));
 *   },
 * });
 * const delivery = new NodeDelivery({ schedule: () => {} });
 * const [a, b, c] = [member(1, "#main"), member(2, "#main"), member(3, "#rust")];
 * delivery.add("#main", a);
 * delivery.add("#main", b);
 * delivery.add("#rust", c);
 * const event = { type: "message", id: 1, ts: "2030-01-01T00:00:00.000Z", from: "m1", text: "hi", kind: "say", room: "#main" } as const;
 * delivery.publish({ room: "#main", event, origin: a.ref, position: 1 }, a);
 * delivery.flush();
 * assert.deepEqual(got, ["m2:m1: hi\n"]);
 * ```
 */
export class NodeDelivery implements Delivery<DeliveryMember> {
  readonly #options: FanOutOptions;
  readonly #rooms = new Map<string, RoomDelivery>();
  /** Replayed messages, encoded once while they stay in the broker's history. */
  readonly #replays = new WeakMap<MessageEvent, Outgoing>();

  /** @param options the timer and clocks of the fan-outs */
  constructor(options: FanOutOptions = {}) {
    this.#options = options;
  }

  add(room: string, member: DeliveryMember): void {
    let delivery = this.#rooms.get(room);
    if (delivery === undefined) this.#rooms.set(room, delivery = new RoomDelivery(this.#options));
    delivery.fanOut.add(member);
  }

  remove(room: string, member: DeliveryMember, handOver: boolean): void {
    const delivery = this.#rooms.get(room);
    if (delivery === undefined) return;
    delivery.fanOut.remove(member, handOver);
    if (delivery.fanOut.size === 0) {
      // Nobody is left to hand anything to; a tick already scheduled finds nobody.
      this.#rooms.delete(room);
    }
  }

  publish(published: Published, origin: DeliveryMember | undefined): void {
    const delivery = this.#rooms.get(published.room);
    if (delivery === undefined) return;
    const event = published.event;
    let except: DeliveryMember | null = null;
    if (origin !== undefined) {
      // A JSON sender gets its message back (the acknowledgement); a text sender does not.
      if (event.type === "message") except = origin.style === "json" ? null : origin;
      else if (event.type === "join") except = origin;
    }
    delivery.fanOut.broadcast(new Outgoing(event), except);
  }

  publishTo(
    member: DeliveryMember,
    published: Published,
    origin: DeliveryMember | undefined,
  ): void {
    const event = published.event;
    if (origin === member) {
      if (event.type === "join") return;
      if (event.type === "message" && member.style !== "json") return;
    }
    this.send(member, event);
  }

  send(member: DeliveryMember, event: ServerEvent): void {
    this.sendBytes(member, encodeFor(event, member.style, member.name));
  }

  /**
   * Sends bytes already encoded for one member, after everything its room was sent before.
   *
   * @param member the member (one in no room is just handed the bytes)
   * @param bytes the bytes, in the member's style
   */
  sendBytes(member: DeliveryMember, bytes: Uint8Array): void {
    const delivery = this.#roomOf(member);
    // A member its room's fan-out does not have (yet, or any more) is just handed the bytes.
    if (delivery === undefined) member.deliver(bytes);
    else delivery.fanOut.sendTo(member, bytes);
  }

  welcome(member: DeliveryMember, welcome: WelcomeEvent): void {
    const delivery = this.#roomOf(member);
    if (member.style !== "json" || delivery === undefined) return this.send(member, welcome);
    // The users list is shared, not copied for each newcomer: in a room of thousands it is most
    // of the frame, and a join storm would otherwise encode it once per join.
    const users = delivery.usersJson(welcome.users);
    const key = `${welcome.epoch}|${JSON.stringify(welcome.cluster)}`;
    if (delivery.tail === null || delivery.tailKey !== key) {
      delivery.tail = welcomeTail(welcome);
      delivery.tailKey = key;
    }
    const tail = delivery.tail;
    for (const part of encodeJsonWelcome(welcome, users, tail)) this.sendBytes(member, part);
  }

  replay(member: DeliveryMember, messages: readonly MessageEvent[]): void {
    const parts: Uint8Array[] = [];
    for (const message of messages) {
      let out = this.#replays.get(message);
      if (out === undefined) {
        out = new Outgoing({ ...message, history: true });
        this.#replays.set(message, out);
      }
      parts.push(out.bytesFor(member.style));
    }
    if (parts.length === 0) return;
    // Handed over in one piece (a join storm replays the history to every joiner), but to a raw
    // client, which must get each event in a write of its own.
    if (member.style === "raw") { for (const part of parts) this.sendBytes(member, part); }
    else this.sendBytes(member, joinBytes(parts));
  }

  /** The delivery of the member's room, when that room has members here. */
  #roomOf(member: DeliveryMember): RoomDelivery | undefined {
    const room = member.room;
    return room === undefined ? undefined : this.#rooms.get(room);
  }

  /** Hands everything broadcast so far to the members now. Safe to call at any time. */
  flush(): void {
    for (const delivery of this.#rooms.values()) delivery.fanOut.flush();
  }
}
