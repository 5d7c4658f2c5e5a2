-- apply_status: a provider status callback for one attempt, ranked so a late
-- or duplicate callback never moves the call backwards. A terminal status
-- may carry the conclusion the caller planned from its copy of the job: it
-- is applied in the same step (as finish.lua would) if the job still is as
-- the plan read it, so the event that ends a call is one round trip.
-- KEYS[1] job hash  KEYS[2] counts hash
-- KEYS[3] delayed zset  KEYS[4] in-flight zset  KEYS[5] outbox stream (with a plan)
-- ARGV[1] attempt  ARGV[2] call sid  ARGV[3] status  ARGV[4] status rank
-- ARGV[5] '1' when the caller needs the job back (a terminal status)
-- ARGV[6..] a plan: expected step, expected dials, '1' if it read answers
--   ('0' if none), 'retry' | 'terminal', delay ms or outcome, '1' if a
--   reason follows, reason, job id
-- Reply: {'none'} (unknown job) | {'concluded', '0' or '1' (advanced)}
--   | {'0' or '1' (advanced), job fields if asked...}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'none' }
end
local state, attempt, sid, rank, first = unpack(redis.call('HMGET', KEYS[1],
  'state', 'attempt', 'sid', 'rank', 'first_dial_at'))
local live = state == 'dialing' or state == 'in_call'
-- Another call id for the same attempt is not ours to apply.
if attempt ~= ARGV[1] or not live or (sid and sid ~= ARGV[2]) then
  return ARGV[5] == '1' and append_job({ '0' }, KEYS[1]) or { '0' }
end
local now = int(now_ms())
local advanced = false
if state == 'dialing' then
  -- The callback beat the originate reply: the call exists, so adopt it.
  redis.call('HSET', KEYS[1], 'state', 'in_call', 'sid', ARGV[2], 'updated_at', now)
  redis.call('HINCRBY', KEYS[1], 'dials', 1)
  if not first then
    redis.call('HSET', KEYS[1], 'first_dial_at', now)
  end
  move_count(KEYS[2], KEYS[1], 'dialing', 'in_call')
  state = 'in_call'
  advanced = true
end
if tonumber(ARGV[4]) > (tonumber(rank) or 0) then
  redis.call('HSET', KEYS[1], 'rank', ARGV[4], 'status', ARGV[3], 'updated_at', now)
  advanced = true
end
if ARGV[6] then
  local step, dials, answers = unpack(redis.call('HMGET', KEYS[1], 'step', 'dials', 'answers'))
  local has_answers = answers ~= nil and answers ~= false and answers ~= '[]'
  if tonumber(step or '0') == tonumber(ARGV[6]) and tonumber(dials or '0') == tonumber(ARGV[7])
      and has_answers == (ARGV[8] == '1') then
    finish_attempt(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[13], state, ARGV[9],
      ARGV[10], ARGV[11] == '1' and ARGV[12] or nil)
    return { 'concluded', advanced and '1' or '0' }
  end
end
local reply = { advanced and '1' or '0' }
if ARGV[5] == '1' then
  append_job(reply, KEYS[1])
end
return reply
