/**
 * The Lua scripts of the Redis broker. Each runs atomically in Redis, which is what makes a
 * name claim, a move between rooms, and "take the next id, keep the message, publish it" single
 * steps that every node sees in one order. The key layout they share is described in
 * PROTOCOL.md ("What Redis holds").
 *
 * Every script gets the cluster's key prefix as `ARGV[1]` (for example `chat:`) and computes
 * its keys from it, so they work on a single Redis server, not on Redis Cluster, which wants
 * every key declared (see bench/README.md on scaling past one machine).
 *
 * @module
 */

/**
 * The functions every script shares. A member key is `NODE/ID`; a name entry in the `names`
 * hash is `NAME\nMEMBERKEY` (neither a name nor a node id can hold a newline).
 *
 * Payload of a room event, on the live channel and in the history stream:
 * `POSITION\nID\nMILLISECONDS\nORIGIN\nDRAFT-JSON`, where POSITION counts every event of the
 * room, ID is the message id (0 for other events) and ORIGIN a member key or empty.
 */
const PRELUDE = `
local P = ARGV[1]
local MAIN = '#main'
local function rk(room, what) return P .. 'room:' .. room .. ':' .. what end
local function exists(room)
  return room == MAIN or redis.call('SISMEMBER', P .. 'rooms', room) == 1
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function holder_of(key)
  local entry = redis.call('HGET', P .. 'names', key)
  if not entry then return nil, nil end
  local name, holder = string.match(entry, '^([^\\n]*)\\n(.*)$')
  return name, holder
end
-- Lets go of the name a member holds, if it still holds it; returns that name, or nil.
local function drop_name(mk)
  local key = redis.call('HGET', P .. 'nameof', mk)
  if not key then return nil end
  local held, holder = holder_of(key)
  redis.call('HDEL', P .. 'nameof', mk)
  if holder ~= mk then return nil end
  redis.call('HDEL', P .. 'names', key)
  return held
end
local function forget(room)
  redis.call('SREM', P .. 'rooms', room)
  redis.call('DEL', rk(room, 'members'), rk(room, 'seq'), rk(room, 'log'), rk(room, 'epoch'),
    rk(room, 'pos'), rk(room, 'events'))
end
local function leave_room(room, mk)
  local members = rk(room, 'members')
  if redis.call('ZREM', members, mk) == 1 and redis.call('HGET', P .. 'roomof', mk) == room then
    redis.call('HDEL', P .. 'roomof', mk)
  end
  local n = redis.call('ZCARD', members)
  if n == 0 and room ~= MAIN and redis.call('SISMEMBER', P .. 'rooms', room) == 1 then
    forget(room)
  end
  return n
end
local function enter_room(room, mk)
  local members = rk(room, 'members')
  if redis.call('ZSCORE', members, mk) == false then
    redis.call('ZADD', members, redis.call('INCR', P .. 'entries'), mk)
  end
  redis.call('HSET', P .. 'roomof', mk, room)
  return redis.call('ZCARD', members)
end
local function epoch_of(room, fresh)
  if not exists(room) then return '' end
  local key = rk(room, 'epoch')
  local epoch = redis.call('GET', key)
  if epoch then return epoch end
  redis.call('SET', key, fresh)
  return fresh
end
local function publish_event(room, is_message, draft, origin, keep, at)
  local ms = at or now_ms()
  local live = exists(room)
  local pos = 1
  local id = 0
  if live then pos = redis.call('INCR', rk(room, 'pos')) end
  if is_message then
    if live then id = redis.call('INCR', rk(room, 'seq')) else id = 1 end
  end
  local payload = pos .. '\\n' .. id .. '\\n' .. ms .. '\\n' .. origin .. '\\n' .. draft
  if is_message and live and keep > 0 then
    redis.call('XADD', rk(room, 'log'), 'MAXLEN', '~', keep, id .. '-0', 'p', payload)
  elseif live and not is_message then
    -- Who came and went, for a node that missed it while cut off (messages are in the log).
    redis.call('XADD', rk(room, 'events'), 'MAXLEN', '~', 1000, pos .. '-0', 'p', payload)
  end
  redis.call('PUBLISH', P .. 'live:' .. room, payload)
  return { pos, id, ms }
end
local function member_names(room)
  local keys = redis.call('ZRANGE', rk(room, 'members'), 0, -1)
  local names = {}
  for _, mk in ipairs(keys) do
    local key = redis.call('HGET', P .. 'nameof', mk)
    if key then
      local name, holder = holder_of(key)
      if name and holder == mk then names[#names + 1] = name end
    end
  end
  return names
end
local function reap(node, announce)
  local set = P .. 'node:' .. node .. ':members'
  for _, mk in ipairs(redis.call('SMEMBERS', set)) do
    -- The member directory of server/redis_trust.ts: a lost node cannot forget its own.
    redis.call('HDEL', P .. 'memberinfo', mk)
    local room = redis.call('HGET', P .. 'roomof', mk)
    local name = drop_name(mk)
    if room then
      local n = leave_room(room, mk)
      if name and announce ~= '' then
        publish_event(room, false, '{"type":"leave","name":' .. cjson.encode(name) ..
          ',"online":' .. n .. ',"reason":"' .. announce .. '"}', '', 0)
      end
    end
  end
  redis.call('DEL', set, P .. 'node:' .. node)
  redis.call('ZREM', P .. 'nodes', node)
end
local function reap_dead(me)
  local reaped = 0
  -- A node came back from an outage lately: the others get one node timeout to come back too.
  if redis.call('EXISTS', P .. 'calm') == 1 then return 0 end
  for _, node in ipairs(redis.call('ZRANGE', P .. 'nodes', 0, -1)) do
    if node ~= me and redis.call('EXISTS', P .. 'node:' .. node) == 0 then
      reap(node, 'node_lost')
      reaped = reaped + 1
    end
  end
  return reaped
end
`;

/** One script: its name (the command ioredis defines) and its body after the prelude. */
export interface RedisScript {
  /** The name of the command defined for it. */
  readonly name: string;
  /** The whole Lua source. */
  readonly lua: string;
}

function script(name: string, body: string): RedisScript {
  return { name, lua: PRELUDE + body };
}

/**
 * Every script of the broker. Arguments after the prefix are listed above each body.
 */
export const REDIS_SCRIPTS = {
  /** ARGV: prefix, node, ttl ms. Registers the node, reaps dead ones; returns [nodes, reaped]. */
  register: script(
    "chatRegister",
    `
local me = ARGV[2]
redis.call('SET', P .. 'node:' .. me, '1', 'PX', tonumber(ARGV[3]))
redis.call('ZADD', P .. 'nodes', now_ms(), me)
local reaped = reap_dead(me)
return { redis.call('ZCARD', P .. 'nodes'), reaped }
`,
  ),
  /**
   * ARGV: prefix, node, ttl ms. Renews the node's key and reaps dead nodes; returns
   * [nodes, reaped], or [-1, 0] when this node was itself reaped (it was silent past the
   * timeout) or Redis lost its data: the node must then drop its members and register again.
   */
  heartbeat: script(
    "chatHeartbeat",
    `
local me = ARGV[2]
if redis.call('ZSCORE', P .. 'nodes', me) == false then return { -1, 0 } end
-- A node whose own key expired was away too (Redis was unreachable, or restarted): it judges
-- nobody this time, so the nodes coming back after an outage do not reap one another.
local was_alive = redis.call('EXISTS', P .. 'node:' .. me) == 1
redis.call('SET', P .. 'node:' .. me, '1', 'PX', tonumber(ARGV[3]))
redis.call('ZADD', P .. 'nodes', now_ms(), me)
local reaped = 0
if was_alive then reaped = reap_dead(me) end
return { redis.call('ZCARD', P .. 'nodes'), reaped }
`,
  ),
  /** ARGV: prefix, node, leave reason or empty. Takes the node out with its members. */
  unregister: script(
    "chatUnregister",
    `
reap(ARGV[2], ARGV[3])
return 1
`,
  ),
  /** ARGV: prefix, name key, name, member key, node. Returns 1 when claimed. */
  claim: script(
    "chatClaim",
    `
local key, name, mk = ARGV[2], ARGV[3], ARGV[4]
local _, holder = holder_of(key)
if holder and holder ~= mk then return 0 end
local old = redis.call('HGET', P .. 'nameof', mk)
if old and old ~= key then redis.call('HDEL', P .. 'names', old) end
redis.call('HSET', P .. 'names', key, name .. '\\n' .. mk)
redis.call('HSET', P .. 'nameof', mk, key)
redis.call('SADD', P .. 'node:' .. ARGV[5] .. ':members', mk)
return 1
`,
  ),
  /** ARGV: prefix, old key, new key, new name, member key. Returns 1 when renamed. */
  rename: script(
    "chatRename",
    `
local from, key, name, mk = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local _, current = holder_of(from)
if current ~= mk then return 0 end
local _, holder = holder_of(key)
if holder and holder ~= mk then return 0 end
if from ~= key then redis.call('HDEL', P .. 'names', from) end
redis.call('HSET', P .. 'names', key, name .. '\\n' .. mk)
redis.call('HSET', P .. 'nameof', mk, key)
return 1
`,
  ),
  /** ARGV: prefix, name key, member key, node. */
  release: script(
    "chatRelease",
    `
local key, mk = ARGV[2], ARGV[3]
local _, holder = holder_of(key)
if holder ~= mk then return 0 end
redis.call('HDEL', P .. 'names', key)
redis.call('HDEL', P .. 'nameof', mk)
if not redis.call('HGET', P .. 'roomof', mk) then
  redis.call('SREM', P .. 'node:' .. ARGV[4] .. ':members', mk)
end
return 1
`,
  ),
  /**
   * ARGV: prefix, room, member key, max rooms, node, fresh epoch. Returns [0] when refused,
   * else [1, online, created, left room or '', left online].
   */
  enter: script(
    "chatEnter",
    `
local room, mk, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
local current = redis.call('HGET', P .. 'roomof', mk)
local existed = exists(room)
if not existed then
  local freed = 0
  if current and current ~= MAIN and redis.call('ZCARD', rk(current, 'members')) == 1 then
    freed = 1
  end
  if redis.call('SCARD', P .. 'rooms') + 1 - freed >= max then return { 0 } end
end
local left_room, left_online = '', 0
if current and current ~= room then
  left_room = current
  left_online = leave_room(current, mk)
end
local created = 0
if not existed then
  redis.call('SADD', P .. 'rooms', room)
  redis.call('SET', rk(room, 'epoch'), ARGV[6])
  created = 1
end
local online = enter_room(room, mk)
redis.call('SADD', P .. 'node:' .. ARGV[5] .. ':members', mk)
return { 1, online, created, left_room, left_online }
`,
  ),
  /** ARGV: prefix, room, member key, node. Returns the count left. */
  leave: script(
    "chatLeave",
    `
local room, mk = ARGV[2], ARGV[3]
if not exists(room) then return 0 end
local n = leave_room(room, mk)
if not redis.call('HGET', P .. 'nameof', mk) and not redis.call('HGET', P .. 'roomof', mk) then
  redis.call('SREM', P .. 'node:' .. ARGV[4] .. ':members', mk)
end
return n
`,
  ),
  /** ARGV: prefix, room. The members' names in entry order. */
  members: script(
    "chatMembers",
    `
return member_names(ARGV[2])
`,
  ),
  /** ARGV: prefix. Flat list: name, count, name, count... (#main first, then unsorted). */
  rooms: script(
    "chatRooms",
    `
local out = { MAIN, redis.call('ZCARD', rk(MAIN, 'members')) }
for _, room in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do
  out[#out + 1] = room
  out[#out + 1] = redis.call('ZCARD', rk(room, 'members'))
end
return out
`,
  ),
  /** ARGV: prefix, room. The next id of the room. */
  nextId: script(
    "chatNextId",
    `
if not exists(ARGV[2]) then return 1 end
return redis.call('INCR', rk(ARGV[2], 'seq'))
`,
  ),
  /**
   * ARGV: prefix, room, 1 for a message else 0, draft JSON, origin member key or empty, how
   * many messages to keep, and optionally the event's time in milliseconds (a message a node
   * kept while Redis was unreachable keeps the time its members were shown). Returns
   * [position, id, ms].
   */
  publish: script(
    "chatPublish",
    `
return publish_event(ARGV[2], ARGV[3] == '1', ARGV[4], ARGV[5], tonumber(ARGV[6]),
  tonumber(ARGV[7]))
`,
  ),
  /**
   * Puts the shared state right for one node after Redis was unreachable: the node is
   * registered again, and its members are made to be what the node holds now.
   *
   * ARGV: prefix, node, ttl ms, a fresh epoch (for rooms it makes), count N, then N times (member key, name key, name, room), then
   * pairs (member key, leave reason) for members that left meanwhile.
   *
   * - A member Redis has for the node that the node no longer holds leaves its room (the
   *   `leave` is published with the reason given, else `quit`) and its name is freed.
   * - A member whose name is now held by someone else (another node gave it meanwhile) is left
   *   as it is and returned: the node renames it and calls again.
   * - Otherwise the member's name is claimed (a name it held before is released, with `nick`
   *   in its old room), and it is put in its room (`leave` reason `moved` from the old one,
   *   `join` in the new one; a room is made when missing).
   *
   * Every event it publishes carries `"p":1` in its draft: the node has shown it to its own
   * members already and does not deliver it to them again. Returns the clashing member keys.
   */
  reconcile: script(
    "chatReconcile",
    `
local me, ttl, fresh, n = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
if redis.call('EXISTS', P .. 'node:' .. me) == 0 then
  -- Away past the node timeout: so were the others, likely (Redis was down for all). They may
  -- reconnect a backoff later; nobody is judged lost for one node timeout.
  redis.call('SET', P .. 'calm', '1', 'PX', ttl)
end
redis.call('SET', P .. 'node:' .. me, '1', 'PX', ttl)
redis.call('ZADD', P .. 'nodes', now_ms(), me)
local set = P .. 'node:' .. me .. ':members'
local want, order = {}, {}
local i = 6
for _ = 1, n do
  want[ARGV[i]] = { ARGV[i + 1], ARGV[i + 2], ARGV[i + 3] }
  order[#order + 1] = ARGV[i]
  i = i + 4
end
local reasons = {}
while i + 1 <= #ARGV do
  reasons[ARGV[i]] = ARGV[i + 1]
  i = i + 2
end
local function note(room, fields, mk)
  publish_event(room, false, '{' .. fields .. ',"p":1}', mk, 0)
end
local function leave_json(name, online, reason)
  return '"type":"leave","name":' .. cjson.encode(name) .. ',"online":' .. online ..
    ',"reason":' .. cjson.encode(reason)
end
for _, mk in ipairs(redis.call('SMEMBERS', set)) do
  if not want[mk] then
    local room = redis.call('HGET', P .. 'roomof', mk)
    local name = drop_name(mk)
    if room then
      local left = leave_room(room, mk)
      if name then note(room, leave_json(name, left, reasons[mk] or 'quit'), mk) end
    end
    redis.call('SREM', set, mk)
  end
end
local clashes = {}
for _, mk in ipairs(order) do
  local key, name, room = want[mk][1], want[mk][2], want[mk][3]
  local _, holder = holder_of(key)
  if holder and holder ~= mk then
    clashes[#clashes + 1] = mk
  else
    local current = redis.call('HGET', P .. 'roomof', mk)
    if current and not exists(current) then current = nil end
    local old_key = redis.call('HGET', P .. 'nameof', mk)
    local old_name = nil
    if old_key then
      local held, was = holder_of(old_key)
      if was == mk then old_name = held end
      if old_key ~= key and was == mk then redis.call('HDEL', P .. 'names', old_key) end
    end
    redis.call('HSET', P .. 'names', key, name .. '\\n' .. mk)
    redis.call('HSET', P .. 'nameof', mk, key)
    redis.call('SADD', set, mk)
    if current and old_name and old_name ~= name then
      note(current, '"type":"nick","from":' .. cjson.encode(old_name) .. ',"to":' ..
        cjson.encode(name), mk)
    end
    if current ~= room then
      if current then
        local left = leave_room(current, mk)
        if old_name then note(current, leave_json(name, left, 'moved'), mk) end
      end
      if not exists(room) then
        redis.call('SADD', P .. 'rooms', room)
        redis.call('SET', rk(room, 'epoch'), fresh)
      end
      note(room, '"type":"join","name":' .. cjson.encode(name) .. ',"online":' ..
        enter_room(room, mk), mk)
    end
  end
end
return clashes
`,
  ),
  /**
   * ARGV: prefix, room, draft JSON, origin member key, recipient node, recipient member key.
   * Publishes `ID\nMS\nORIGIN\nTO\nROOM\nDRAFT` to the node's direct channel; returns [id, ms].
   */
  direct: script(
    "chatDirect",
    `
local room = ARGV[2]
local id = 1
if exists(room) then id = redis.call('INCR', rk(room, 'seq')) end
local ms = now_ms()
redis.call('PUBLISH', P .. 'direct:' .. ARGV[5],
  id .. '\\n' .. ms .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[6] .. '\\n' .. room .. '\\n' .. ARGV[3])
return { id, ms }
`,
  ),
  /**
   * ARGV: prefix, room, limit, after id (0 for none), fresh epoch, the id to count the entries
   * after (-1: no count). What a member entering the room needs, read at one instant:
   * [position, epoch, names, payloads newest first, oldest id trimmed or 0, the count or -1].
   */
  snapshot: script(
    "chatSnapshot",
    `
local room, limit, after = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local pos = tonumber(redis.call('GET', rk(room, 'pos')) or '0')
local epoch = epoch_of(room, ARGV[5])
local payloads = {}
if limit > 0 then
  local low = '-'
  if after > 0 then low = '(' .. after .. '-0' end
  local entries = redis.call('XREVRANGE', rk(room, 'log'), '+', low, 'COUNT', limit)
  for i, entry in ipairs(entries) do payloads[i] = entry[2][2] end
end
local trimmed = 0
if redis.call('EXISTS', rk(room, 'log')) == 1 then
  -- Trimming does not move max-deleted-entry-id: when more entries were ever added than the
  -- stream holds, everything before its first entry was dropped.
  local info = redis.call('XINFO', 'STREAM', rk(room, 'log'))
  local fields = {}
  for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
  if fields['entries-added'] > fields['length'] and fields['first-entry'] then
    trimmed = tonumber(string.match(fields['first-entry'][1], '^(%d+)')) - 1
  end
end
local count, count_after = -1, tonumber(ARGV[6])
if count_after >= 0 then
  -- Only a resume asks, and the stream is capped by the room's retention: the range is bounded.
  local from = '-'
  if count_after > 0 then from = '(' .. count_after .. '-0' end
  count = #redis.call('XRANGE', rk(room, 'log'), from, '+')
end
return { pos, epoch, member_names(room), payloads, trimmed, count }
`,
  ),
  /**
   * ARGV: prefix, room, after id, after position. What a node missed: every kept message after
   * the id, and every kept other event (join, leave, nick) after the position, each oldest
   * first: [messages, events].
   */
  since: script(
    "chatSince",
    `
local function after(key, from)
  local entries = redis.call('XRANGE', key, '(' .. from .. '-0', '+')
  local payloads = {}
  for i, entry in ipairs(entries) do payloads[i] = entry[2][2] end
  return payloads
end
return { after(rk(ARGV[2], 'log'), ARGV[3]), after(rk(ARGV[2], 'events'), ARGV[4]) }
`,
  ),
} as const;
