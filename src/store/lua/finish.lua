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
finish_attempt(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[7], state, ARGV[3], ARGV[4],
  ARGV[5] == '1' and ARGV[6] or nil)
return 'applied'
