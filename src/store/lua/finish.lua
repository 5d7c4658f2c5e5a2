-- finish: end an attempt of a dialing or in-call job.
-- KEYS[1] job hash  KEYS[2] counts hash  KEYS[3] delayed zset
-- KEYS[4] in-flight zset  KEYS[5] outbox stream
-- ARGV[1] attempt  ARGV[2] expected step ('' = any)  ARGV[3] 'retry' | 'terminal'
-- ARGV[4] delay ms (retry) or outcome (terminal)  ARGV[5] '1' if a reason follows
-- ARGV[6] reason  ARGV[7] job id
-- Reply: 'applied' | 'stale'
-- A terminal finish writes the feedback record to the shard's outbox in the
-- same step, so the record exists if and only if the job is terminal.
local state, attempt, step = unpack(redis.call('HMGET', KEYS[1], 'state', 'attempt', 'step'))
if attempt ~= ARGV[1] or (state ~= 'dialing' and state ~= 'in_call') then
  return 'stale'
end
if ARGV[2] ~= '' and tonumber(step or '0') ~= tonumber(ARGV[2]) then
  return 'stale'
end
local now = now_ms()
local has_reason = ARGV[5] == '1'
if has_reason then
  redis.call('HSET', KEYS[1], 'reason', ARGV[6])
else
  redis.call('HDEL', KEYS[1], 'reason')
end
redis.call('ZREM', KEYS[4], ARGV[7])
local deadline = redis.call('HGET', KEYS[1], 'naf')
if ARGV[3] == 'retry' and deadline and now + tonumber(ARGV[4]) > tonumber(deadline) then
  -- The retry would come after the contact's deadline: it ends instead.
  redis.call('HSET', KEYS[1], 'reason', 'a retry would come after the deadline (' .. ARGV[6] .. ')')
  redis.call('ZREM', KEYS[3], ARGV[7])
  end_job(KEYS[1], KEYS[2], KEYS[5], ARGV[7], state, 'expired', now)
  return 'applied'
end
if ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[1], 'state', 'retry_wait', 'updated_at', int(now))
  move_count(KEYS[2], KEYS[1], state, 'retry_wait')
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[7])
  return 'applied'
end

redis.call('ZREM', KEYS[3], ARGV[7])
end_job(KEYS[1], KEYS[2], KEYS[5], ARGV[7], state, ARGV[4], now)
return 'applied'
