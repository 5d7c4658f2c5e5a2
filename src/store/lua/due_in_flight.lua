-- due_in_flight: jobs of a shard whose in-flight deadline passed.
-- KEYS[1] in-flight zset
-- ARGV[1] max  ARGV[2] job key prefix (from `Keys`; same hash tag)
-- Reply: flat {job id, attempt, ...}. Members whose job is gone or no longer
-- in flight are removed instead of returned.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
local reply = {}
for _, id in ipairs(due) do
  local state, attempt = unpack(redis.call('HMGET', ARGV[2] .. id, 'state', 'attempt'))
  if state == 'dialing' or state == 'in_call' then
    reply[#reply + 1] = id
    reply[#reply + 1] = attempt
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return reply
