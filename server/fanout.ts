/**
 * Fan-out: hands every broadcast of a room to each of its members, in few large writes that
 * share their bytes, and paced so that a busy large room never saturates its core.
 *
 * @module
 */

import process from "node:process";
import type { JoinEvent, LeaveEvent, PresenceEvent, PresenceLeft } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { afterThisTurn } from "../core/after_this_turn.ts";
import { CpuBudget, MIN_FLUSH_PAUSE_MS } from "./cpu_budget.ts";
import { type ClientStyle, joinBytes, Outgoing } from "./outgoing.ts";

/** What fan-out needs of a member: how it is spoken to, and a way to hand it bytes. */
export interface RoomMember {
  /** The member's client style, which decides the encoding it is sent. */
  readonly style: ClientStyle;
  /** The fingerprint of the identity the member proved, if it did. */
  readonly fingerprint?: string | undefined;
  /**
   * Takes bytes to send. Must not call back into the room synchronously (a member that cannot
   * keep up reports it on a later turn).
   */
  deliver(bytes: Uint8Array): void;
}

/** The clocks and the timer of a {@linkcode FanOut}; tests replace them. */
export interface FanOutOptions {
  /**
   * Runs a tick after a delay in milliseconds (0: once the current turn of the event loop is
   * done, so that every frame read in that turn leaves in one write per member). With
   * `afterReads`, the tick must also wait for the reads that complete meanwhile: a chain of
   * `setImmediate` lets none in, a timer does.
   */
  readonly schedule?: (tick: () => void, delayMs: number, afterReads: boolean) => void;
  /** A monotonic clock in milliseconds, for pacing. */
  readonly monotonicNow?: () => number;
  /** The CPU time this process has used, in milliseconds, for pacing. */
  readonly cpuNow?: () => number;
  /**
   * From how many members a room's join and leave notices are gathered and summarised
   * (`--summary-members`); 0 never. {@linkcode DEFAULT_SUMMARY_MEMBERS} when absent.
   */
  readonly summaryMembers?: number;
}

/**
 * The default of `--summary-members`. Below a few hundred members, joins and leaves come one at a
 * time and a person reads each; a room of 500 sees them in waves (a restart brings everyone back
 * within seconds), where a line per name would scroll the conversation away.
 */
export const DEFAULT_SUMMARY_MEMBERS = 500;

/**
 * How long a join or leave notice of a large room may wait for company before a tick hands it
 * out. A wave of joins (a restart brings everyone back) then reaches each member as one summary
 * in one write, usually with the next message, instead of a write per member per join: a
 * notice to 5000 members costs about 50 ms of write calls. A person does not notice a join
 * shown a tenth of a second late.
 */
export const PRESENCE_GATHER_MS = 100;

/**
 * Pacing applies only when at least this many broadcasts were logged between two ticks: a pause
 * is worth its delay only when it gathers messages that keep coming into fewer writes.
 */
export const GATHER_MIN_ARRIVALS = 2;

/**
 * At most this many members are written to in one tick. A larger room is served in turns, a
 * slice per tick, so its writes are spread evenly over time instead of leaving in bursts that
 * make the last member of each burst wait for all the others.
 */
export const MEMBERS_PER_TICK = 256;

interface LoggedBroadcast {
  readonly out: Outgoing;
  readonly except: RoomMember | null;
}

/** The bytes made in one pass over the members, by client style and by starting place in the log. */
type SharedBytes = Map<ClientStyle, Map<number, Uint8Array>>;

/** Where a member stands in the broadcast log. */
interface Position {
  /** The sequence number of the first broadcast it has not been handed. */
  next: number;
  /** The sequence number of the latest broadcast that leaves it out, or -1. */
  exceptedAt: number;
}

/**
 * Runs a tick after `delayMs`, or, with no delay, once this turn's reads have been handled; with
 * `afterReads`, on a timer, which also lets in the reads that complete meanwhile (about 1 ms).
 */
const defaultSchedule = (tick: () => void, delayMs: number, afterReads: boolean): void => {
  if (delayMs > 0 || afterReads) setTimeout(tick, delayMs);
  else afterThisTurn(tick);
};

/**
 * The fan-out of one room. Broadcasts go into a log; ticks walk the members in turn and hand
 * each one everything it has not had yet as one buffer, shared by every member that stands at
 * the same place (each event is encoded once per client style). A private send first hands that
 * one member what it has not had, so each member sees events in order.
 *
 * @example Two members, one broadcast
 * ```ts
 * import assert from "node:assert/strict";
 * import { FanOut } from "./fanout.ts";
 * import { Outgoing } from "./outgoing.ts";
 * const got: Uint8Array[] = [];
 * const fanOut = new FanOut({ schedule: () => {} });
 * const a = { style: "line" as const, deliver: (bytes: Uint8Array) => got.push(bytes) };
 * const b = { style: "line" as const, deliver: (bytes: Uint8Array) => got.push(bytes) };
 * fanOut.add(a);
 * fanOut.add(b);
 * fanOut.broadcast(new Outgoing({ type: "shutdown", message: "bye" }), null);
 * fanOut.flush();
 * assert.equal(got.length, 2);
 * assert.equal(got[0], got[1], "the very same bytes");
 * ```
 */
export class FanOut {
  #schedule: (tick: () => void, delayMs: number, afterReads: boolean) => void;
  #monotonicNow: () => number;
  #cpuNow: () => number;
  #summaryMembers: number;
  #log: LoggedBroadcast[] = [];
  /** The sequence number of `#log[0]`. */
  #logStart = 0;
  #members = new Map<RoomMember, Position>();
  /** Where the walk over the members stands; null before the first tick of a round. */
  #cursor: Iterator<[RoomMember, Position]> | null = null;
  /** The end of the log when the current round of the walk began. */
  #roundStart = 0;
  #tickScheduled = false;
  /** The end of the log when the last tick started: what arrived since tells if pacing gathers. */
  #lastTickEnd = 0;
  /** True while messages keep coming: see {@linkcode FanOut.#noteMessagesArrived}. */
  #readsBetweenSlices = false;
  /** True while a notice waits for company (see {@linkcode PRESENCE_GATHER_MS}). */
  #gatherScheduled = false;
  /** When the next tick may run; see {@linkcode CpuBudget}. */
  #nextTickAt = 0;
  #cpuBudget: CpuBudget;

  /** @param options the timer and clocks (the defaults are the real ones) */
  constructor(options: FanOutOptions = {}) {
    this.#schedule = options.schedule ?? defaultSchedule;
    this.#monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.#cpuNow = options.cpuNow ?? processCpuMs;
    this.#summaryMembers = options.summaryMembers ?? DEFAULT_SUMMARY_MEMBERS;
    this.#cpuBudget = new CpuBudget(this.#monotonicNow(), this.#cpuNow());
  }

  /** How many members it has. */
  get size(): number {
    return this.#members.size;
  }

  /**
   * Adds a member: it gets the broadcasts made from now on.
   *
   * @param member the new member
   */
  add(member: RoomMember): void {
    this.#members.set(member, { next: this.#logEnd, exceptedAt: -1 });
  }

  /**
   * Removes a member, first handing it what it has not had yet (a last notice may follow), unless
   * nobody will read it. That hand-over is the member's own copy of its part of the log, so when a
   * wave of N members leaves at once (each leave logged for the rest) it would copy N²/2 events.
   *
   * @param member the member; nothing happens if it is not one
   * @param handOver false when the member's connection is not read any more
   */
  remove(member: RoomMember, handOver = true): void {
    if (handOver) this.#catchUp(member, null);
    this.#members.delete(member);
  }

  /**
   * Logs a broadcast for every member (but one) and makes sure a tick will hand it out.
   *
   * @param out the event, encoded lazily per style
   * @param except a member that must not get it, or null
   */
  broadcast(out: Outgoing, except: RoomMember | null): void {
    if (except !== null) {
      const position = this.#members.get(except);
      if (position !== undefined) position.exceptedAt = this.#logEnd;
    }
    this.#log.push({ out, except });
    if (this.#summarising && (out.event.type === "join" || out.event.type === "leave")) {
      this.#scheduleGather();
    } else {
      this.#scheduleTick();
    }
  }

  /**
   * Sends bytes to one member, after everything broadcast before.
   *
   * @param member the recipient (a non-member is just handed the bytes)
   * @param bytes the bytes, in the member's style
   */
  sendTo(member: RoomMember, bytes: Uint8Array): void {
    this.#catchUp(member, null);
    member.deliver(bytes);
  }

  /**
   * Hands every member everything broadcast so far, now, sharing the bytes among members that stand
   * at the same place as a tick does. Safe to call at any time.
   */
  flush(): void {
    const shared: SharedBytes = new Map();
    for (const member of this.#members.keys()) this.#catchUp(member, shared);
    this.#logStart = this.#logEnd;
    this.#log = [];
    this.#roundStart = this.#logStart;
    this.#cursor = null;
  }

  get #logEnd(): number {
    return this.#logStart + this.#log.length;
  }

  /** True when the room is large enough for its notices to be gathered and summarised. */
  get #summarising(): boolean {
    return this.#summaryMembers > 0 && this.#members.size >= this.#summaryMembers;
  }

  /** Makes sure a tick hands out what was logged within {@linkcode PRESENCE_GATHER_MS}. */
  #scheduleGather(): void {
    if (this.#tickScheduled || this.#gatherScheduled) return;
    this.#gatherScheduled = true;
    this.#schedule(
      () => {
        this.#gatherScheduled = false;
        this.#scheduleTick();
      },
      PRESENCE_GATHER_MS,
      false,
    );
  }

  /** @param afterReads true when the tick should come after the reads that complete meanwhile */
  #scheduleTick(afterReads = false): void {
    if (this.#tickScheduled) return;
    this.#tickScheduled = true;
    const delay = this.#nextTickAt - this.#monotonicNow();
    this.#schedule(this.#tick, delay >= MIN_FLUSH_PAUSE_MS ? Math.ceil(delay) : 0, afterReads);
  }

  #tick = (): void => {
    this.#tickScheduled = false;
    // The CPU used since the last tick is mostly the cost of its writes (Deno makes the write
    // calls after the tick's JavaScript returns), so it is charged here, at the next tick.
    const now = this.#monotonicNow();
    const pause = this.#cpuBudget.pauseAfter(now, this.#cpuNow());
    const end = this.#logEnd;
    // A pause gathers what keeps arriving into fewer writes. When (next to) nothing arrived since
    // the last tick, as in the slices of one large fan-out, it would gather nothing and only
    // delay.
    const arrived = end - this.#lastTickEnd;
    this.#nextTickAt = now + (arrived >= GATHER_MIN_ARRIVALS ? pause : 0);
    this.#noteMessagesArrived(this.#countMessages(this.#lastTickEnd, end));
    this.#lastTickEnd = end;
    const shared: SharedBytes = new Map();
    let written = 0;
    for (let visited = 0; visited < this.#members.size; visited++) {
      if (written === MEMBERS_PER_TICK) {
        this.#scheduleTick(this.#readsBetweenSlices);
        return;
      }
      let step = this.#cursor?.next();
      if (step === undefined || step.done === true) {
        this.#endRound();
        this.#cursor = this.#members.entries();
        step = this.#cursor.next();
        if (step.done === true) break;
      }
      const [member, position] = step.value;
      if (position.next >= end) continue;
      this.#handOver(member, position, end, shared);
      position.next = end;
      written++;
    }
    // Every member has now had everything: the log can go.
    this.#logStart = end;
    this.#log = [];
    this.#roundStart = end;
  };

  /** How many of the broadcasts logged from `from` to `end` are not join or leave notices. */
  #countMessages(from: number, end: number): number {
    let messages = 0;
    for (let sequence = Math.max(from, this.#logStart); sequence < end; sequence++) {
      const type = this.#log[sequence - this.#logStart]!.out.event.type;
      if (type !== "join" && type !== "leave") messages++;
    }
    return messages;
  }

  /**
   * Decides how the slices of a round follow each other. The next slice normally follows at once:
   * a chain of `setImmediate` lets no read in, so a round of thousands of members went out as one
   * burst while the messages sent meanwhile waited in their sockets for it to end. While messages
   * keep coming (two or more since the last tick), each slice waits for the reads that completed
   * meanwhile (a timer, about 1 ms), so what was said reaches the members not yet visited in this
   * round. One message at a time (a chat at a person's pace) or a join storm's single summary
   * does not pay that wait. No arrival (the slices of a round, whose reads were held back) leaves
   * the choice as it was.
   */
  #noteMessagesArrived(messages: number): void {
    if (messages >= GATHER_MIN_ARRIVALS) this.#readsBetweenSlices = true;
    else if (messages === 1) this.#readsBetweenSlices = false;
  }

  /**
   * A round of the walk is over: every member has been visited since it began, so none still
   * needs a broadcast logged before it began.
   */
  #endRound(): void {
    const drop = this.#roundStart - this.#logStart;
    if (drop > 0) {
      this.#log.splice(0, drop);
      this.#logStart = this.#roundStart;
    }
    this.#roundStart = this.#logEnd;
  }

  /** Hands one member now what it has not had yet. */
  #catchUp(member: RoomMember, shared: SharedBytes | null): void {
    const position = this.#members.get(member);
    const end = this.#logEnd;
    if (position === undefined || position.next >= end) return;
    this.#handOver(member, position, end, shared);
    position.next = end;
  }

  /**
   * Delivers the broadcasts from a member's position up to `end`: in one buffer, except to a raw
   * client, which splits what it reads on `~` and so must get each event in a write of its own.
   */
  #handOver(member: RoomMember, position: Position, end: number, shared: SharedBytes | null) {
    if (member.style !== "raw") {
      member.deliver(this.#bytesFor(member, position, end, shared));
      return;
    }
    for (let sequence = position.next; sequence < end; sequence++) {
      const { out, except } = this.#log[sequence - this.#logStart]!;
      if (except !== member) member.deliver(out.bytesFor("raw"));
    }
  }

  /**
   * The bytes a member should get for the broadcasts from its position up to `end`: shared with
   * every member of its style at the same position, unless one of them leaves it out.
   */
  #bytesFor(
    member: RoomMember,
    position: Position,
    end: number,
    shared: SharedBytes | null,
  ): Uint8Array {
    const style = member.style;
    const summaries = this.#summarising;
    const excepted = position.exceptedAt >= position.next;
    if (shared === null || excepted) {
      return this.#join(style, position.next, end, member, summaries);
    }
    let byPosition = shared.get(style);
    if (byPosition === undefined) shared.set(style, byPosition = new Map());
    let bytes = byPosition.get(position.next);
    if (bytes === undefined) {
      bytes = this.#join(style, position.next, end, null, summaries);
      byPosition.set(position.next, bytes);
    }
    return bytes;
  }

  /**
   * Joins the logged broadcasts from `from` to `end` in one style, but those that except `member`;
   * with `summaries`, each run of two or more join and leave notices becomes one `presence` (a
   * line of text for a text client).
   */
  #join(
    style: ClientStyle,
    from: number,
    end: number,
    member: RoomMember | null,
    summaries: boolean,
  ): Uint8Array {
    const outs: Outgoing[] = [];
    let run: Outgoing[] = [];
    const endRun = () => {
      if (run.length === 1) outs.push(run[0]!);
      else if (run.length > 1) outs.push(new Outgoing(summarise(run)));
      run = [];
    };
    for (let sequence = from; sequence < end; sequence++) {
      const { out, except } = this.#log[sequence - this.#logStart]!;
      if (member !== null && except === member) continue;
      if (summaries && (out.event.type === "join" || out.event.type === "leave")) {
        run.push(out);
        continue;
      }
      endRun();
      outs.push(out);
    }
    endRun();
    // JSON frames are encoded straight into the joined buffer (see Outgoing.joinJson).
    if (style === "json" && outs.length > 0) return Outgoing.joinJson(outs);
    return joinBytes(outs.map((out) => out.bytesFor(style)));
  }
}

/**
 * One `presence` event for a run of join and leave notices of one room: each name in the list
 * its last notice puts it in, `online` and `ts` of the last notice.
 */
function summarise(run: readonly Outgoing[]): PresenceEvent {
  const last = new Map<string, JoinEvent | LeaveEvent>();
  for (const { event } of run) {
    if (event.type !== "join" && event.type !== "leave") continue;
    const key = nameKey(event.name);
    // Deleted first, so the map's order is the order of each name's last notice.
    last.delete(key);
    last.set(key, event);
  }
  const joined: string[] = [];
  const left: PresenceLeft[] = [];
  for (const event of last.values()) {
    if (event.type === "join") joined.push(event.name);
    else left.push({ name: event.name, reason: event.reason });
  }
  // The run holds only join and leave notices (see FanOut.#join).
  const final = run.at(-1)!.event as JoinEvent | LeaveEvent;
  return {
    type: "presence",
    ts: final.ts,
    online: final.online,
    joined,
    left,
    ...(final.room === undefined ? {} : { room: final.room }),
  };
}

/** The CPU time (user and system) this process has used, in milliseconds. */
function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
