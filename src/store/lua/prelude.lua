-- Shared helpers, prepended to every job script by `redis/scripts.rs`.
-- Defines locals only (Redis 7 forbids globals in scripts).

-- Redis TIME as integer microseconds. Lua numbers are doubles: exact up to
-- 2^53 us (year 2255), so no precision is lost.
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function now_ms()
  return math.floor(now_us() / 1000)
end

-- Integers as decimal strings: replies and stored fields never go through
-- Lua's number-to-string conversion, which switches to exponent notation.
local function int(n)
  return string.format('%.0f', n)
end

-- Moves one job between state counters of its campaign (HINCRBY old -1, new +1).
local function move_count(counts_key, from, to)
  if from == to then
    return
  end
  if from then
    redis.call('HINCRBY', counts_key, from, -1)
  end
  redis.call('HINCRBY', counts_key, to, 1)
end

local LIVE = { queued = true, dialing = true, in_call = true, retry_wait = true }

local function is_terminal(state)
  return state ~= false and state ~= nil and not LIVE[state]
end

-- The job hash as a flat field/value list, appended to a reply.
local function append_job(reply, job_key)
  local fields = redis.call('HGETALL', job_key)
  for i = 1, #fields do
    reply[#reply + 1] = fields[i]
  end
  return reply
end

