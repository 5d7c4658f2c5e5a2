-- Fragment: the limits of a dial decision, whatever slot their keys are
-- in: holds (the latest time any limit allows wins), the GCRA (the
-- arithmetic of `store/gcra.rs`, integer microseconds) with its spend and
-- refund, the citizen's checks and caps, the department's quota, the
-- live-call cap and the provider's rate. Included by `authorize.lua` and
-- by the per-slot scripts of `authorize_slots/`.

-- A hold: the latest allow time seen, and the limit that set it.
local function new_hold(until_ms, limit)
  return { until_ms = until_ms or 0, limit = (limit ~= '' and limit) or nil }
end

local function hold(h, at_ms, name)
  if at_ms > h.until_ms then
    h.until_ms, h.limit = at_ms, name
  end
end

-- The new TAT if a start conforms at `now`, else nil and the allow time.
local function gcra(key, emission, slack, now)
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

-- Once the TAT is in the past it equals "no state", so the key can go then.
local function gcra_spend(key, new_tat, now)
  redis.call('SET', key, int(new_tat), 'PX', int(math.max(1, math.ceil((new_tat - now) / 1000))))
end

-- Gives one unit back: the TAT moves back by one emission (units spent by
-- others since stay spent).
local function gcra_refund(key, emission, now)
  local tat = tonumber(redis.call('GET', key))
  if not tat then
    return
  end
  tat = tat - emission
  if tat <= now then
    redis.call('DEL', key)
  else
    gcra_spend(key, tat, now)
  end
end

-- The citizen's wishes, for every campaign: why the citizen must not be
-- called, or nil.
local function citizen_refusal(optout_key, dnc_key)
  if redis.call('EXISTS', dnc_key) == 1 then
    local why = redis.call('HGET', dnc_key, 'reason')
    return 'on the do-not-call list' .. ((why and why ~= '') and (': ' .. why) or '')
  end
  if redis.call('EXISTS', optout_key) == 1 then
    return 'citizen opted out earlier'
  end
  return nil
end

local DAY_MS, WEEK_MS = 86400000, 604800000

-- The citizen's day and week caps over every campaign's calls: the n-th
-- newest call in a window must leave it before one more fits.
local function citizen_caps(h, calls_key, per_day, per_week, now_ms)
  if per_day <= 0 and per_week <= 0 then
    return
  end
  redis.call('ZREMRANGEBYSCORE', calls_key, '-inf', now_ms - WEEK_MS)
  local function cap(window_ms, max)
    if max <= 0 then
      return
    end
    local recent = redis.call('ZREVRANGEBYSCORE', calls_key, '+inf', now_ms - window_ms,
      'WITHSCORES', 'LIMIT', max - 1, 1)
    if #recent > 0 then
      hold(h, tonumber(recent[2]) + window_ms + 1, 'citizen')
    end
  end
  cap(DAY_MS, per_day)
  cap(WEEK_MS, per_week)
end

-- Counts a call (member `<job id>#<attempt>`) against the citizen's caps.
local function citizen_spend(calls_key, member, per_day, per_week, now_ms)
  if per_day <= 0 and per_week <= 0 then
    return
  end
  redis.call('ZADD', calls_key, now_ms, member)
  redis.call('PEXPIRE', calls_key, WEEK_MS + DAY_MS)
end

-- The department's quota ('' = none): its new TAT, or nil (held, or none).
local function department_quota(h, key, emission, slack, now)
  if emission == '' then
    return nil
  end
  local tat, allow = gcra(key, tonumber(emission), tonumber(slack), now)
  if not tat then
    hold(h, math.ceil(allow / 1000), 'department')
  end
  return tat
end

-- The live-call cap ('' = none), checked only when nothing else holds.
local function live_cap(h, live, cap, recheck_ms, now_ms)
  if cap ~= '' and h.limit == nil and live >= tonumber(cap) then
    hold(h, now_ms + tonumber(recheck_ms), 'live_calls')
  end
end

-- The provider's rate ('' = none): its new TAT (nil when none), or false
-- and the wait (us) when a call now would exceed it.
local function provider_rate(key, emission, slack, now)
  if emission == '' then
    return nil
  end
  local tat, allow = gcra(key, tonumber(emission), tonumber(slack), now)
  if not tat then
    return false, allow - now
  end
  return tat
end
