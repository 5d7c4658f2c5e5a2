-- due_in_flight: of the in-flight members the caller found past their
-- deadline, those whose job is still in flight.
-- KEYS[1] in-flight zset  KEYS[2..] the named jobs' hashes
-- ARGV[1..] the job ids, in the order of KEYS[2..]
-- Reply: flat {job id, attempt, ...}. Members whose job is gone or no longer
-- in flight are removed instead of returned; a member no longer due (its
-- lease was extended meanwhile) is left alone. The caller names the members
-- (`redis/dispatch.rs`), so every key is declared (Redis Cluster).
local now = now_ms()
local reply = {}
for i, id in ipairs(ARGV) do
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= now then
    local state, attempt = unpack(redis.call('HMGET', KEYS[1 + i], 'state', 'attempt'))
    if state == 'dialing' or state == 'in_call' then
      reply[#reply + 1] = id
      reply[#reply + 1] = attempt
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
return reply
