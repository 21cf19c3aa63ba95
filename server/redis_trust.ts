/**
 * What the nodes of a cluster share besides the chat itself, in the cluster's Redis: who owns
 * which name (so an identity's name is its own on every node), the operators' decisions (so a
 * ban on one node keeps the member out of all of them, and disconnects it wherever it is), and
 * where each member is connected (so an operator on one node can act on a member of another).
 *
 * Every change is one Lua script, atomic in Redis: two nodes granting one free name to two
 * identities at once cannot happen, and a decision is kept and announced (`PUBLISH` on the
 * cluster's moderation channel) in one step, so every node hears the decisions in the order they
 * were kept. Each node still answers the hot questions (is this address banned? is this member
 * muted?) from its memory; it reads everything once at start and then follows the channel.
 *
 * The keys are listed in PROTOCOL.md ("What Redis holds"). This module imports `npm:ioredis`;
 * only `chat serve --redis` loads it.
 *
 * @module
 */

import { Redis } from "ioredis";
import { nameKey } from "../protocol/names.ts";
import type { ProtocolError } from "../protocol/errors.ts";
import { type NameClaim, type NameOwnership, ownedRefusal } from "./identity.ts";
import type {
  Ban,
  ModerationAct,
  ModerationChange,
  ModerationRecords,
  ModerationStore,
  Mute,
} from "./moderation.ts";
import type { ClusterMember, MemberDirectory, SharedTrust } from "./trust.ts";

const _DAY_MS = 24 * 60 * 60 * 1000;

/** How many names' owners a node remembers for answering while Redis is unreachable. */
const _OWNERS_KEPT = 100_000;

/** How long to wait for Redis at start before giving up, in milliseconds. */
const _CONNECT_TIMEOUT_MS = 5000;

/** The longest wait between two reconnection attempts, in milliseconds. */
const _MAX_RECONNECT_DELAY_MS = 2000;

/**
 * The functions the scripts share. An owned-name entry is `FINGERPRINT\nLAST-USED-MS\nNAME`;
 * it is in force while the node asking finds it used within the lapse it gives.
 */
const _PRELUDE = `
local P = ARGV[1]
local function owner_of(key, now, lapse)
  local entry = redis.call('HGET', P .. 'owned', key)
  if not entry then return nil end
  local fp, used = string.match(entry, '^([^\\n]*)\\n([^\\n]*)\\n')
  if fp == nil or now - tonumber(used) > lapse then return nil end
  return fp
end
`;

const _SCRIPTS = {
  /** ARGV: prefix, name key, now ms, lapse ms. The owner's fingerprint, or false. */
  ownerOf: `
local owner = owner_of(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
if owner then return owner end
return false
`,
  /**
   * ARGV: prefix, name key, name, fingerprint, now ms, lapse ms. Returns {1, fresh} when
   * granted (fresh 1 when the name was not this identity's), {0, owner} when refused.
   */
  claim: `
local key, name, fp = ARGV[2], ARGV[3], ARGV[4]
local now, lapse = tonumber(ARGV[5]), tonumber(ARGV[6])
local owner = owner_of(key, now, lapse)
if owner and owner ~= fp then return { 0, owner } end
redis.call('HSET', P .. 'owned', key, fp .. '\\n' .. ARGV[5] .. '\\n' .. name)
if owner then return { 1, 0 } end
return { 1, 1 }
`,
  /** ARGV: prefix, name key, fingerprint. Forgets the name if that identity has it. */
  unclaim: `
local entry = redis.call('HGET', P .. 'owned', ARGV[2])
if entry and string.sub(entry, 1, #ARGV[3] + 1) == ARGV[3] .. '\\n' then
  redis.call('HDEL', P .. 'owned', ARGV[2])
end
return 1
`,
  /** ARGV: prefix, name key, fingerprint, now ms. The name's days start again from now. */
  release: `
local entry = redis.call('HGET', P .. 'owned', ARGV[2])
if entry and string.sub(entry, 1, #ARGV[3] + 1) == ARGV[3] .. '\\n' then
  local name = string.match(entry, '^[^\\n]*\\n[^\\n]*\\n(.*)$')
  redis.call('HSET', P .. 'owned', ARGV[2], ARGV[3] .. '\\n' .. ARGV[4] .. '\\n' .. name)
end
return 1
`,
  /**
   * ARGV: prefix, kind, target, value JSON, until ms or empty, message. Keeps one change and
   * publishes the message on the moderation channel, in one step.
   */
  record: `
local kind, target, value, ending = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local function lift(hash)
  if ending == '' then
    redis.call('HDEL', hash, target)
    return
  end
  local kept = redis.call('HGET', hash, target)
  local ends = kept and cjson.decode(kept)['until']
  if ends and tonumber(ends) == tonumber(ending) then
    redis.call('HDEL', hash, target)
  end
end
if kind == 'op' then redis.call('HSET', P .. 'ops', target, value)
elseif kind == 'deop' then redis.call('HDEL', P .. 'ops', target)
elseif kind == 'ban' then redis.call('HSET', P .. 'bans', target, value)
elseif kind == 'unban' then lift(P .. 'bans')
elseif kind == 'mute' then redis.call('HSET', P .. 'mutes', target, value)
elseif kind == 'unmute' then lift(P .. 'mutes')
end
redis.call('PUBLISH', P .. 'moderation', ARGV[6])
return 1
`,
  /**
   * ARGV: prefix, name key. The holder of a name: {name, NODE/ID, FINGERPRINT\nIP} (the last
   * missing while its node has not recorded it yet), or false.
   */
  lookup: `
local entry = redis.call('HGET', P .. 'names', ARGV[2])
if not entry then return false end
local name, mk = string.match(entry, '^([^\\n]*)\\n(.*)$')
if not name then return false end
local info = redis.call('HGET', P .. 'memberinfo', mk)
if not info then return { name, mk } end
return { name, mk, info }
`,
} as const;

type _Script = (...args: (string | number)[]) => Promise<unknown>;

/** A message on the moderation channel. */
interface _Announcement {
  /** The node whose operator acted (it has applied the act already). */
  readonly node: string;
  readonly act: ModerationAct;
}

/** Settings of {@linkcode RedisTrust.connect}. */
export interface RedisTrustOptions {
  /** `redis://HOST:PORT[/DB]`, already checked. */
  readonly url: string;
  /** The cluster's name: the prefix of every key. */
  readonly cluster: string;
  /** This node's id (the broker's), to tell its own announcements from others'. */
  readonly node: string;
  /** Days an owned name may stay unused before it is free again (`--name-days`). */
  readonly nameDays: number;
  /** The clock in milliseconds; a test may fix it. */
  readonly now?: () => number;
  /** Called with errors worth logging (an announcement that could not be read). */
  readonly onError?: (message: string) => void;
}

/** Splits a stored ban or mute back into its fields. */
function _parse<T>(json: string): T {
  return JSON.parse(json) as T;
}

/**
 * The shared trust of a cluster, in Redis: owned names, operators' decisions and the member
 * directory. Make one with {@linkcode RedisTrust.connect}; close it with
 * {@linkcode RedisTrust.close}.
 */
export class RedisTrust implements SharedTrust, NameOwnership, ModerationStore, MemberDirectory {
  /** The cluster's name. */
  readonly cluster: string;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #node: string;
  readonly #lapseMs: number;
  readonly #now: () => number;
  readonly #onError: (message: string) => void;
  #records: ModerationRecords = { ops: [], bans: [], mutes: [] };
  #listener: ((act: ModerationAct) => void) | undefined;
  #reloaded: ((records: ModerationRecords) => void) | undefined;
  /** How many times the decisions were read again after the channel was lost. */
  #reloads = 0;
  /** Acts heard before anyone listened (between subscribing and the first read). */
  #early: ModerationAct[] = [];
  #closed = false;
  /**
   * True while the command connection to Redis is down: owned names are then answered from
   * what this node has seen (#owners), and changes wait in #later for Redis (see PROTOCOL.md,
   * "While Redis is unreachable").
   */
  #down = false;
  /** Owners this node has read or written, by name key (undefined: read as not owned). */
  readonly #owners = new Map<string, string | undefined>();
  /** Changes made while Redis was unreachable, sent in order when it is back. */
  #later: (() => Promise<unknown>)[] = [];

  private constructor(options: RedisTrustOptions, redis: Redis, sub: Redis) {
    this.#redis = redis;
    this.#sub = sub;
    this.cluster = options.cluster;
    this.#prefix = `${options.cluster}:`;
    this.#node = options.node;
    this.#lapseMs = options.nameDays * _DAY_MS;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
    for (const [name, lua] of Object.entries(_SCRIPTS)) {
      redis.defineCommand(`chatTrust_${name}`, { numberOfKeys: 0, lua: _PRELUDE + lua });
    }
  }

  /**
   * Connects to the cluster's Redis, follows its moderation channel, and reads the operators'
   * decisions kept there.
   *
   * @param options where Redis is, the cluster, this node, and how long names last
   * @returns the shared trust
   * @throws {Error} when Redis cannot be reached, with a sentence saying what to check
   */
  static async connect(options: RedisTrustOptions): Promise<RedisTrust> {
    const make = () =>
      new Redis(options.url, {
        lazyConnect: true,
        connectTimeout: _CONNECT_TIMEOUT_MS,
        // While Redis is away, commands wait for it (the node is degraded, not broken).
        maxRetriesPerRequest: null,
        retryStrategy: (times: number) =>
          Math.min(50 * 2 ** Math.min(times, 6), _MAX_RECONNECT_DELAY_MS),
      });
    const redis = make();
    const sub = make();
    // The broker reports Redis coming and going; these connections only must not crash.
    redis.on("error", () => {});
    sub.on("error", () => {});
    const trust = new RedisTrust(options, redis, sub);
    redis.on("close", () => void (trust.#down = !trust.#closed));
    redis.on("ready", () => void trust.#back());
    try {
      await redis.connect();
      await sub.connect();
      sub.on("message", (_channel: string, payload: string) => trust.#hear(payload));
      await sub.subscribe(`${trust.#prefix}moderation`);
      trust.#records = await trust.#read();
      // ioredis subscribes again by itself after a reconnection; announcements made while the
      // connection was down are read back from the hashes.
      sub.on("ready", () => void trust.#resubscribed());
    } catch (error) {
      redis.disconnect();
      sub.disconnect();
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Cannot read the cluster's names and bans from Redis at ${options.url} (${reason}): ` +
          `check --redis and that redis-server runs there`,
      );
    }
    return trust;
  }

  get owners(): NameOwnership {
    return this;
  }

  get moderation(): ModerationStore {
    return this;
  }

  get members(): MemberDirectory {
    return this;
  }

  #script(name: keyof typeof _SCRIPTS, ...args: (string | number)[]): Promise<unknown> {
    const fn = (this.#redis as unknown as Record<string, _Script>)[`chatTrust_${name}`];
    if (fn === undefined) throw new Error(`The Redis script ${name} is not defined`);
    return fn.call(this.#redis, this.#prefix, ...args);
  }

  /** Redis is back: sends what waited for it, in order, then answers from Redis again. */
  async #back(): Promise<void> {
    if (!this.#down) return;
    const waiting = this.#later;
    this.#later = [];
    this.#down = false;
    for (const change of waiting) {
      try {
        await change();
      } catch (error) {
        this.#onError(`Writing what waited for Redis: ${(error as Error).message}`);
      }
    }
  }

  /** Runs a change now, or when Redis is back if it is unreachable. */
  #whenUp(change: () => Promise<unknown>): Promise<void> {
    if (!this.#down) return change().then(() => {});
    this.#later.push(change);
    return Promise.resolve();
  }

  // ---- owned names ----

  async ownerOf(name: string): Promise<string | undefined> {
    const key = nameKey(name);
    // Cut off from Redis: what this node knows (a name it never saw is taken as not owned).
    if (this.#down) return this.#owners.get(key);
    const owner = await this.#script("ownerOf", key, this.#now(), this.#lapseMs);
    const found = typeof owner === "string" ? owner : undefined;
    this.#remember(key, found);
    return found;
  }

  /** Keeps what Redis said of a name, for while it is unreachable (a bounded memory). */
  #remember(key: string, owner: string | undefined): void {
    this.#owners.delete(key);
    this.#owners.set(key, owner);
    if (this.#owners.size > _OWNERS_KEPT) {
      const oldest = this.#owners.keys().next().value;
      if (oldest !== undefined) this.#owners.delete(oldest);
    }
  }

  async refusal(name: string, fingerprint: string | undefined): Promise<ProtocolError | undefined> {
    return ownedRefusal(name, await this.ownerOf(name), fingerprint);
  }

  async claim(name: string, fingerprint: string): Promise<NameClaim> {
    const key = nameKey(name);
    if (this.#down) {
      const owner = this.#owners.get(key);
      if (owner !== undefined && owner !== fingerprint) {
        return { granted: false, refusal: ownedRefusal(name, owner, fingerprint)! };
      }
      this.#remember(key, fingerprint);
      this.#later.push(async () => {
        const claim = await this.claim(name, fingerprint);
        if (!claim.granted) {
          this.#onError(
            `The name "${name}" was granted to ${fingerprint} while Redis was unreachable, ` +
              `but another identity owns it`,
          );
        }
      });
      return { granted: true, fresh: owner === undefined };
    }
    const [granted, detail] = await this.#script(
      "claim",
      nameKey(name),
      name,
      fingerprint,
      this.#now(),
      this.#lapseMs,
    ) as [number, number | string];
    if (granted === 1) {
      this.#remember(key, fingerprint);
      return { granted: true, fresh: detail === 1 };
    }
    this.#remember(key, String(detail));
    return { granted: false, refusal: ownedRefusal(name, String(detail), fingerprint)! };
  }

  async unclaim(name: string, fingerprint: string): Promise<void> {
    const key = nameKey(name);
    if (this.#owners.get(key) === fingerprint) this.#remember(key, undefined);
    await this.#whenUp(() => this.#script("unclaim", key, fingerprint));
  }

  async release(name: string, fingerprint: string): Promise<void> {
    const now = this.#now();
    await this.#whenUp(() => this.#script("release", nameKey(name), fingerprint, now));
  }

  // ---- operators' decisions ----

  load(): ModerationRecords {
    return this.#records;
  }

  async #read(): Promise<ModerationRecords> {
    const [ops, bans, mutes] = await Promise.all(
      ["ops", "bans", "mutes"].map((what) => this.#redis.hgetall(`${this.#prefix}${what}`)),
    );
    return {
      ops: Object.keys(ops!),
      bans: Object.values(bans!).map((json) => _parse<Ban>(json)),
      mutes: Object.values(mutes!).map((json) => _parse<Mute>(json)),
    };
  }

  async record(act: ModerationAct): Promise<void> {
    const change: ModerationChange | undefined = act.change;
    const message = JSON.stringify({ node: this.#node, act } satisfies _Announcement);
    let kind = "none";
    let target = "";
    let value = "";
    let ending = "";
    if (change !== undefined) {
      kind = change.kind;
      switch (change.kind) {
        case "op":
          target = change.fingerprint;
          value = JSON.stringify({ by: change.by, at: this.#now() });
          break;
        case "deop":
          target = change.fingerprint;
          break;
        case "ban":
          target = change.ban.target;
          value = JSON.stringify(change.ban);
          break;
        case "mute":
          target = change.mute.target;
          value = JSON.stringify(change.mute);
          break;
        case "unban":
        case "unmute":
          target = change.target;
          ending = change.until === undefined ? "" : String(change.until);
          break;
      }
    }
    await this.#script("record", kind, target, value, ending, message);
  }

  listen(
    listener: (act: ModerationAct) => void,
    reloaded: (records: ModerationRecords) => void,
  ): void {
    this.#listener = listener;
    this.#reloaded = reloaded;
    for (const act of this.#early.splice(0)) listener(act);
  }

  /** How many times the decisions were read again after the moderation channel was lost. */
  get reloads(): number {
    return this.#reloads;
  }

  /**
   * The moderation channel is back after a loss (ioredis subscribed again): what was announced
   * meanwhile was missed, so everything kept is read again.
   */
  async #resubscribed(): Promise<void> {
    try {
      // Once the subscription (sent first on that connection) is in force, nothing announced
      // from here on is missed; then read what was kept.
      await this.#sub.ping();
      const records = await this.#read();
      if (this.#closed) return;
      this.#records = records;
      this.#reloads++;
      this.#reloaded?.(records);
    } catch (error) {
      this.#onError(
        `Reading the operators' decisions again: ${(error as Error).message}; the next ` +
          `reconnection tries again`,
      );
    }
  }

  #hear(payload: string): void {
    let announcement: _Announcement;
    try {
      announcement = JSON.parse(payload) as _Announcement;
    } catch {
      return this.#onError(`An unreadable moderation announcement: ${payload.slice(0, 200)}`);
    }
    if (announcement.node === this.#node) return;
    if (this.#listener === undefined) this.#early.push(announcement.act);
    else this.#listener(announcement.act);
  }

  // ---- member directory ----

  async joined(member: string, fingerprint: string | undefined, ip: string): Promise<void> {
    const info = `${fingerprint ?? ""}\n${ip}`;
    await this.#whenUp(() => this.#redis.hset(`${this.#prefix}memberinfo`, member, info));
  }

  async left(member: string): Promise<void> {
    await this.#whenUp(() => this.#redis.hdel(`${this.#prefix}memberinfo`, member));
  }

  async lookup(name: string): Promise<ClusterMember | undefined> {
    // Members of other nodes cannot be found while Redis is unreachable.
    if (this.#down) return undefined;
    const found = await this.#script("lookup", nameKey(name)) as [string, string, string?] | null;
    if (found === null) return undefined;
    const [held, member, info] = found;
    if (info === undefined) return undefined;
    const newline = info.indexOf("\n");
    const fingerprint = info.slice(0, newline);
    return {
      name: held,
      member,
      ...(fingerprint === "" ? {} : { fingerprint }),
      ip: info.slice(newline + 1),
    };
  }

  /** Closes both connections. Calling it twice does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener = undefined;
    await Promise.allSettled([this.#redis.quit(), this.#sub.quit()]);
    this.#redis.disconnect();
    this.#sub.disconnect();
  }
}
