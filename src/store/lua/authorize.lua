-- authorize: decide one ready entry, every policy in one atomic step. The
-- checks come first and spend nothing; only a grant spends a unit of each
-- limit, so a dial refused by one limit costs none of the others.
-- KEYS[1] ready stream  KEYS[2] job hash  KEYS[3] counts hash  KEYS[4] official's gcra
-- KEYS[5] delayed zset  KEYS[6] in-flight zset  KEYS[7] campaign states hash
-- KEYS[8] the campaign's parked set  KEYS[9] outbox stream
-- KEYS[10] citizen opt-out marker  KEYS[11] citizen do-not-call entry
-- KEYS[12] citizen's calls zset  KEYS[13] department's gcra  KEYS[14] provider's gcra
-- KEYS[15] the official's held queue  KEYS[16] the shard's schedule zset
-- KEYS[17..] every shard's in-flight zset (for the live-call cap)
-- ARGV[1] entry id  ARGV[2] official emission (us)  ARGV[3] official slack (us)
-- ARGV[4] lease (ms)  ARGV[5] job id  ARGV[6] campaign id
-- ARGV[7] department emission (us, '' = no quota)  ARGV[8] department slack (us)
-- ARGV[9] citizen cap per day (0 = none)  ARGV[10] citizen cap per week (0 = none)
-- ARGV[11] live-call cap ('' = none)  ARGV[12] live-call recheck (ms)
-- ARGV[13] provider emission (us, '' = no cap)  ARGV[14] provider slack (us)
-- ARGV[15] the job's held-queue member: job id, citizen tag, department,
-- '1' if urgent, tab-separated (`redis/dispatch.rs`, `HeldMember`)
-- ARGV[16] '1' if urgent  ARGV[17] official id
-- Reply: {'stale', now_us} | {'deferred', until_ms, now_us, limit}
--      | {'provider_busy', wait_us, now_us} | {'parked', now_us}
--      | {'cancelled', now_us} | {'expired', now_us} | {'opted_out', now_us}
--      | {'granted', now_us, now_ms, job fields...}
-- Every verdict but 'provider_busy' acknowledges and deletes the entry: the
-- job then lives in exactly one place (dialing, delayed, parked, or ended).
-- 'provider_busy' leaves the entry pending with this consumer, to be asked
-- about again after the wait (or reclaimed by another instance).
-- Held by the official's GCRA (the latest of the limits that hold it), the
-- job joins its official's held queue (urgent at the head, else the tail)
-- and the official is scheduled at its allow time: the queue behind one
-- official costs nothing until then, and then one promotion of its head
-- (promote_due.lua). Every other verdict reschedules the official, if its
-- queue is not empty, at the time its GCRA next allows a dial, so the next
-- head is promoted exactly then (and not before: no wasted reads).
local DAY_MS, WEEK_MS = 86400000, 604800000
local now = now_us()
local now_ms = math.floor(now / 1000)
local job_id = ARGV[5]

local official_emission, official_slack = tonumber(ARGV[2]), tonumber(ARGV[3])

-- The official's next held job is due when its GCRA next allows a dial.
local function reschedule()
  if redis.call('LLEN', KEYS[15]) == 0 then
    redis.call('ZREM', KEYS[16], ARGV[17])
    return
  end
  local tat = tonumber(redis.call('GET', KEYS[4])) or now
  redis.call('ZADD', KEYS[16], math.max(now_ms, math.ceil((tat - official_slack) / 1000)), ARGV[17])
end

local function consume()
  redis.call('XACK', KEYS[1], 'dialers', ARGV[1])
  redis.call('XDEL', KEYS[1], ARGV[1])
  reschedule()
end

local function defer(until_ms, limit, reason)
  if limit == 'official' then
    redis.call('XACK', KEYS[1], 'dialers', ARGV[1])
    redis.call('XDEL', KEYS[1], ARGV[1])
    redis.call('ZREM', KEYS[5], job_id)
    if ARGV[16] == '1' then
      redis.call('LPUSH', KEYS[15], ARGV[15])
    else
      redis.call('RPUSH', KEYS[15], ARGV[15])
    end
    redis.call('ZADD', KEYS[16], until_ms, ARGV[17])
  else
    consume()
    redis.call('ZADD', KEYS[5], until_ms, job_id)
  end
  redis.call('HSET', KEYS[2], 'reason', reason, 'updated_at', int(now_ms))
  return { 'deferred', int(until_ms), int(now), limit }
end

local function finish(outcome, reason)
  consume()
  redis.call('ZREM', KEYS[5], job_id)
  redis.call('HSET', KEYS[2], 'reason', reason)
  end_job(KEYS[2], KEYS[3], KEYS[9], job_id, 'queued', outcome, now_ms)
  return { outcome, int(now) }
end

-- GCRA (same arithmetic as `store/gcra.rs`, integer microseconds): the new
-- TAT if a start conforms now, else nil and the allow time.
local function gcra(key, emission, slack)
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then
    tat = now
  end
  local allow_at = tat - slack
  if now < allow_at then
    return nil, allow_at
  end
  return tat + emission
end

local function spend(key, new_tat)
  -- Once the TAT is in the past it equals "no state", so the key can go then.
  redis.call('SET', key, int(new_tat), 'PX', int(math.max(1, math.ceil((new_tat - now) / 1000))))
end

if redis.call('HGET', KEYS[2], 'state') ~= 'queued' then
  consume()
  return { 'stale', int(now) }
end
local campaign_state = redis.call('HGET', KEYS[7], ARGV[6])
if campaign_state == 'paused' then
  consume()
  redis.call('ZREM', KEYS[5], job_id)
  redis.call('SADD', KEYS[8], job_id)
  redis.call('HSET', KEYS[2], 'reason', 'campaign paused', 'updated_at', int(now_ms))
  return { 'parked', int(now) }
end
if campaign_state == 'cancelled' then
  return finish('cancelled', 'campaign cancelled')
end
-- Freshness: past its deadline the contact ends `expired`; too soon after
-- the visit it waits.
local nbf, naf = unpack(redis.call('HMGET', KEYS[2], 'nbf', 'naf'))
if naf and now_ms > tonumber(naf) then
  return finish('expired', 'past its deadline (the visit is too long ago, or the campaign expired)')
end
if nbf and now_ms < tonumber(nbf) then
  return defer(tonumber(nbf), 'not_before', 'too soon after the visit')
end
-- The citizen's wishes, for every campaign.
if redis.call('EXISTS', KEYS[11]) == 1 then
  local why = redis.call('HGET', KEYS[11], 'reason')
  return finish('opted_out', 'on the do-not-call list' .. ((why and why ~= '') and (': ' .. why) or ''))
end
if redis.call('EXISTS', KEYS[10]) == 1 then
  return finish('opted_out', 'citizen opted out earlier')
end

-- Limits that wait: the latest time any of them allows wins.
local until_ms, limit = 0, nil
local function hold(at_ms, name)
  if at_ms > until_ms then
    until_ms, limit = at_ms, name
  end
end
local per_day, per_week = tonumber(ARGV[9]), tonumber(ARGV[10])
if per_day > 0 or per_week > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[12], '-inf', now_ms - WEEK_MS)
  -- The n-th newest call in a window must leave it before one more fits.
  local function cap(window_ms, max)
    if max <= 0 then
      return
    end
    local recent = redis.call('ZREVRANGEBYSCORE', KEYS[12], '+inf', now_ms - window_ms,
      'WITHSCORES', 'LIMIT', max - 1, 1)
    if #recent > 0 then
      hold(tonumber(recent[2]) + window_ms + 1, 'citizen')
    end
  end
  cap(DAY_MS, per_day)
  cap(WEEK_MS, per_week)
end
local dept_tat
if ARGV[7] ~= '' then
  local allow
  dept_tat, allow = gcra(KEYS[13], tonumber(ARGV[7]), tonumber(ARGV[8]))
  if not dept_tat then
    hold(math.ceil(allow / 1000), 'department')
  end
end
local official_tat, official_allow = gcra(KEYS[4], official_emission, official_slack)
if not official_tat then
  hold(math.ceil(official_allow / 1000), 'official')
end
if ARGV[11] ~= '' and limit == nil then
  local live = 0
  for i = 17, #KEYS do
    live = live + redis.call('ZCARD', KEYS[i])
  end
  if live >= tonumber(ARGV[11]) then
    hold(now_ms + tonumber(ARGV[12]), 'live_calls')
  end
end
if limit then
  local reasons = {
    citizen = "citizen's call cap reached", department = "department's quota",
    official = 'rate limited', live_calls = 'live-call cap reached',
  }
  return defer(until_ms, limit, reasons[limit])
end
local provider_tat
if ARGV[13] ~= '' then
  local allow
  provider_tat, allow = gcra(KEYS[14], tonumber(ARGV[13]), tonumber(ARGV[14]))
  if not provider_tat then
    return { 'provider_busy', int(allow - now), int(now) }
  end
end

-- Granted: spend every unit (the official's first, so its next held job is
-- scheduled at the allow time after this dial).
spend(KEYS[4], official_tat)
consume()
if dept_tat then
  spend(KEYS[13], dept_tat)
end
if provider_tat then
  spend(KEYS[14], provider_tat)
end
local attempt = redis.call('HINCRBY', KEYS[2], 'attempt', 1)
if per_day > 0 or per_week > 0 then
  redis.call('ZADD', KEYS[12], now_ms, job_id .. '#' .. attempt)
  redis.call('PEXPIRE', KEYS[12], WEEK_MS + DAY_MS)
end
-- The previous attempt's call joins the calls this job must never adopt.
local previous = redis.call('HGET', KEYS[2], 'sid')
if previous then
  local past = redis.call('HGET', KEYS[2], 'past')
  redis.call('HSET', KEYS[2], 'past', past and (past .. ',' .. previous) or previous)
end
redis.call('HSET', KEYS[2], 'state', 'dialing', 'rank', '0', 'dial_at', int(now_ms),
  'updated_at', int(now_ms))
-- A new attempt starts a new IVR session: an earlier attempt's (answered,
-- but with no input ever received) must not be replayed to this call.
redis.call('HSET', KEYS[2], 'step', '0')
redis.call('HDEL', KEYS[2], 'sid', 'status', 'reason', 'ivr', 'resp')
move_count(KEYS[3], KEYS[2], 'queued', 'dialing')
-- A duplicate ready entry may have left the job in the delayed set too.
redis.call('ZREM', KEYS[5], job_id)
redis.call('ZADD', KEYS[6], now_ms + tonumber(ARGV[4]), job_id)
return append_job({ 'granted', int(now), int(now_ms) }, KEYS[2])
