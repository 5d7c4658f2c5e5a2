-- authorize: decide one ready entry, every policy in one atomic step (the
-- single-node form, for standalone and Sentinel; a Redis Cluster runs the
-- same fragments as one script per slot, `authorize_slots/`). The checks
-- come first and spend nothing; only a grant spends a unit of each limit,
-- so a dial refused by one limit costs none of the others.
-- KEYS[1] ready stream  KEYS[2] job hash  KEYS[3] counts hash  KEYS[4] official's gcra
-- KEYS[5] delayed zset  KEYS[6] in-flight zset  KEYS[7] campaign states hash
-- KEYS[8] the campaign's parked set  KEYS[9] outbox stream
-- KEYS[10] citizen opt-out marker  KEYS[11] citizen do-not-call entry
-- KEYS[12] citizen's calls zset  KEYS[13] department's gcra  KEYS[14] provider's gcra
-- KEYS[15] the official's held queue  KEYS[16] the shard's schedule zset
-- KEYS[17] the shard's other ready stream (urgent if KEYS[1] is not)
-- KEYS[18..] every shard's in-flight zset (for the live-call cap)
-- ARGV[1] entry id  ARGV[2] official emission (us)  ARGV[3] official slack (us)
-- ARGV[4] lease (ms)  ARGV[5] job id  ARGV[6] campaign id
-- ARGV[7] department emission (us, '' = no quota)  ARGV[8] department slack (us)
-- ARGV[9] citizen cap per day (0 = none)  ARGV[10] citizen cap per week (0 = none)
-- ARGV[11] live-call cap ('' = none)  ARGV[12] live-call recheck (ms)
-- ARGV[13] provider emission (us, '' = no cap)  ARGV[14] provider slack (us)
-- ARGV[15] the job's held-queue member: the job id, with `\t1` after it if
-- urgent (`redis/dispatch.rs`, `held_member`)
-- ARGV[16] '1' if urgent  ARGV[17] official id
-- ARGV[18] the citizen tag (kept by the job once it is dialled or ended)
-- Reply: the verdict, then what the decision left the shard holding (its
-- earliest due work in ms, '' = none; the entries on its ready streams;
-- the time, ms: the dialer's plan learns them here instead of probing the
-- shard again, `dialer/plan.rs`), then the verdict's own fields:
--        {'stale', <shard>, now_us} | {'deferred', <shard>, until_ms, now_us, limit}
--      | {'provider_busy', <shard>, wait_us, now_us} | {'parked', <shard>, now_us}
--      | {'cancelled', <shard>, now_us} | {'expired', <shard>, now_us}
--      | {'opted_out', <shard>, now_us} | {'granted', <shard>, now_us, now_ms, job fields...}
--   where <shard> is: due, ready, now_ms
-- Every verdict but 'provider_busy' acknowledges and deletes the entry: the
-- job then lives in exactly one place (dialing, delayed, parked, or ended).
-- 'provider_busy' leaves the entry pending with this consumer, to be asked
-- about again after the wait (or reclaimed by another instance).
local now = now_us()
local s = shard_streams({
  ready = KEYS[1], job = KEYS[2], counts = KEYS[3], gcra = KEYS[4], delayed = KEYS[5],
  inflight = KEYS[6], states = KEYS[7], parked = KEYS[8], outbox = KEYS[9], held = KEYS[15],
  sched = KEYS[16], entry = ARGV[1], emission = tonumber(ARGV[2]), slack = tonumber(ARGV[3]),
  lease = tonumber(ARGV[4]), job_id = ARGV[5], campaign = ARGV[6], member = ARGV[15],
  urgent = ARGV[16], official = ARGV[17], tag = ARGV[18], now = now,
  now_ms = math.floor(now / 1000),
}, KEYS[1], KEYS[17])

local function decide()
  local verdict = shard_checks(s)
  if verdict then
    return verdict
  end
  local refusal = citizen_refusal(KEYS[10], KEYS[11])
  if refusal then
    return shard_finish(s, 'opted_out', refusal)
  end

  local h = new_hold()
  local per_day, per_week = tonumber(ARGV[9]), tonumber(ARGV[10])
  citizen_caps(h, KEYS[12], per_day, per_week, s.now_ms)
  local dept_tat = department_quota(h, KEYS[13], ARGV[7], ARGV[8], now)
  local official_tat = shard_official(s, h)
  if ARGV[11] ~= '' and h.limit == nil then
    local live = 0
    for i = 18, #KEYS do
      live = live + redis.call('ZCARD', KEYS[i])
    end
    live_cap(h, live, ARGV[11], ARGV[12], s.now_ms)
  end
  if h.limit then
    return shard_defer(s, h.until_ms, h.limit)
  end
  local provider_tat, wait = provider_rate(KEYS[14], ARGV[13], ARGV[14], now)
  if provider_tat == false then
    return { 'provider_busy', int(wait), int(now) }
  end

  -- Granted: every unit spent in this one step.
  citizen_spend(KEYS[12], s.job_id .. '#' .. shard_next_attempt(s), per_day, per_week, s.now_ms)
  if dept_tat then
    gcra_spend(KEYS[13], dept_tat, now)
  end
  if provider_tat then
    gcra_spend(KEYS[14], provider_tat, now)
  end
  return shard_grant(s, official_tat)
end

return shard_reported(s, decide())
