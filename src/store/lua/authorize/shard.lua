-- Fragment: the dial decision's steps on the job's shard (`{sNN}`): the
-- job, its campaign, freshness, the official's GCRA and the grant itself.
-- Included by `authorize.lua` (one script, standalone and Sentinel) and by
-- `authorize_slots/job.lua` and `grant.lua` (Redis Cluster). Every function
-- takes the step's context `s`:
--   keys: s.ready s.job s.counts s.gcra s.delayed s.inflight s.states
--         s.parked s.outbox s.held s.sched, and s.normal_ready
--         s.urgent_ready (both ready streams, one of them s.ready)
--   args: s.entry (ready entry id) s.job_id s.campaign s.official
--         s.emission s.slack (official's GCRA, us) s.lease (ms)
--         s.member (held-queue member) s.urgent ('1' or '')
--         s.tag (the citizen tag, kept once the job leaves the queue)
--   time: s.now (us) s.now_ms
-- Held by the official's GCRA (the latest of the limits that hold it), the
-- job joins its official's held queue (urgent at the head, else the tail)
-- and the official is scheduled at its allow time: the queue behind one
-- official costs nothing until then, and then one promotion of its head
-- (promote_due.lua). Every other verdict reschedules the official, if its
-- queue is not empty, at the time its GCRA next allows a dial, so the next
-- head is promoted exactly then (and not before: no wasted reads), or made
-- ready at once if that time has come.

-- Both ready streams, from the entry's (`ready`, of the kind `urgent`
-- says) and the other one.
local function shard_streams(s, ready, other)
  if s.urgent == '1' then
    s.normal_ready, s.urgent_ready = other, ready
  else
    s.normal_ready, s.urgent_ready = ready, other
  end
  return s
end

local HOLD_REASONS = {
  citizen = "citizen's call cap reached", department = "department's quota",
  official = 'rate limited', live_calls = 'live-call cap reached',
  not_before = 'too soon after the visit',
}

-- The official's next held job is due when its GCRA next allows a dial.
-- If that is now (a burst left, or no dial spent), the job goes on the
-- ready stream at once, the official kept scheduled a promotion lease
-- ahead as `promote_due.lua` keeps it: the dialer reads it on its next
-- pass, with no wake, probe or promotion of its own.
local function shard_reschedule(s)
  if redis.call('LLEN', s.held) == 0 then
    redis.call('ZREM', s.sched, s.official)
    return
  end
  local tat = tonumber(redis.call('GET', s.gcra)) or s.now
  local allow_us = tat - s.slack
  if allow_us > s.now then
    redis.call('ZADD', s.sched, math.ceil(allow_us / 1000), s.official)
    return
  end
  local member = redis.call('LPOP', s.held)
  -- `<job id>`, or `<job id>\t1` for an urgent campaign's job.
  local job, urgent = member:match('^[^\t]*'), member:sub(-2) == '\t1'
  redis.call('XADD', urgent and s.urgent_ready or s.normal_ready, '*', 'job', job)
  redis.call('ZADD', s.sched, s.now_ms + PROMOTION_LEASE_MS, s.official)
end

-- The shard's earliest due work (ms; '' = none): the first of its delayed
-- set and of its schedule, as `probe_shard.lua` reports it.
local function shard_due(s)
  local due
  for _, zset in ipairs({ s.delayed, s.sched }) do
    local first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
    if first[2] and (not due or tonumber(first[2]) < due) then
      due = tonumber(first[2])
    end
  end
  return due and int(due) or ''
end

-- `reply` (a verdict) with what the decision left its shard holding
-- inserted after the verdict, so the dialer need not probe the shard:
-- its earliest due work (`shard_due`), its ready entries, the clock (ms).
local function shard_reported(s, reply)
  table.insert(reply, 2, shard_due(s))
  table.insert(reply, 3, redis.call('XLEN', s.normal_ready) + redis.call('XLEN', s.urgent_ready))
  table.insert(reply, 4, int(s.now_ms))
  return reply
end

local function shard_consume(s)
  redis.call('XACK', s.ready, 'dialers', s.entry)
  redis.call('XDEL', s.ready, s.entry)
  shard_reschedule(s)
end

local function shard_defer(s, until_ms, limit)
  if limit == 'official' then
    redis.call('XACK', s.ready, 'dialers', s.entry)
    redis.call('XDEL', s.ready, s.entry)
    redis.call('ZREM', s.delayed, s.job_id)
    if s.urgent == '1' then
      redis.call('LPUSH', s.held, s.member)
    else
      redis.call('RPUSH', s.held, s.member)
    end
    redis.call('ZADD', s.sched, until_ms, s.official)
  else
    shard_consume(s)
    redis.call('ZADD', s.delayed, until_ms, s.job_id)
  end
  redis.call('HSET', s.job, 'reason', HOLD_REASONS[limit], 'updated_at', int(s.now_ms))
  return { 'deferred', int(until_ms), int(s.now), limit }
end

local function shard_finish(s, outcome, reason)
  shard_consume(s)
  redis.call('ZREM', s.delayed, s.job_id)
  redis.call('HSET', s.job, 'reason', reason)
  keep_tag(s.job, s.tag)
  end_job(s.job, s.counts, s.outbox, s.job_id, 'queued', outcome, s.now_ms)
  return { outcome, int(s.now) }
end

-- The verdicts the shard alone decides (the job gone or taken, its campaign
-- paused or cancelled, the contact past its deadline or too soon after the
-- visit), applied; nil when the job may go on to the limits.
local function shard_checks(s)
  if redis.call('HGET', s.job, 'state') ~= 'queued' then
    shard_consume(s)
    return { 'stale', int(s.now) }
  end
  local campaign_state = redis.call('HGET', s.states, s.campaign)
  if campaign_state == 'paused' then
    shard_consume(s)
    redis.call('ZREM', s.delayed, s.job_id)
    redis.call('SADD', s.parked, s.job_id)
    redis.call('HSET', s.job, 'reason', 'campaign paused', 'updated_at', int(s.now_ms))
    return { 'parked', int(s.now) }
  end
  if campaign_state == 'cancelled' then
    return shard_finish(s, 'cancelled', 'campaign cancelled')
  end
  local nbf, naf = unpack(redis.call('HMGET', s.job, 'nbf', 'naf'))
  if naf and s.now_ms > tonumber(naf) then
    return shard_finish(s, 'expired',
      'past its deadline (the visit is too long ago, or the campaign expired)')
  end
  if nbf and s.now_ms < tonumber(nbf) then
    return shard_defer(s, tonumber(nbf), 'not_before')
  end
  return nil
end

-- The attempt a grant now would start.
local function shard_next_attempt(s)
  return (tonumber(redis.call('HGET', s.job, 'attempt')) or 0) + 1
end

-- The official's GCRA: the new TAT if a dial conforms now, else nil (and
-- the hold `h` records the allow time).
local function shard_official(s, h)
  local tat, allow = gcra(s.gcra, s.emission, s.slack, s.now)
  if not tat then
    hold(h, math.ceil(allow / 1000), 'official')
  end
  return tat
end

-- Granted: spend the official's unit first (so its next held job is
-- scheduled at the allow time after this dial), then start the attempt.
local function shard_grant(s, official_tat)
  gcra_spend(s.gcra, official_tat, s.now)
  shard_consume(s)
  redis.call('HINCRBY', s.job, 'attempt', 1)
  -- The previous attempt's call joins the calls this job must never adopt.
  local previous = redis.call('HGET', s.job, 'sid')
  if previous then
    local past = redis.call('HGET', s.job, 'past')
    redis.call('HSET', s.job, 'past', past and (past .. ',' .. previous) or previous)
  end
  redis.call('HSET', s.job, 'state', 'dialing', 'rank', '0', 'dial_at', int(s.now_ms),
    'updated_at', int(s.now_ms))
  -- A new attempt starts a new IVR session: an earlier attempt's (answered,
  -- but with no input ever received) must not be replayed to this call.
  redis.call('HSET', s.job, 'step', '0')
  redis.call('HDEL', s.job, 'sid', 'status', 'reason', 'ivr', 'resp')
  move_count(s.counts, s.job, 'queued', 'dialing')
  keep_tag(s.job, s.tag)
  -- A duplicate ready entry may have left the job in the delayed set too.
  redis.call('ZREM', s.delayed, s.job_id)
  redis.call('ZADD', s.inflight, s.now_ms + s.lease, s.job_id)
  return append_job({ 'granted', int(s.now), int(s.now_ms) }, s.job)
end
