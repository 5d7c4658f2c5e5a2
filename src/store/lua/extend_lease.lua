-- extend_lease: push an attempt's in-flight deadline to now + lease.
-- KEYS[1] job hash  KEYS[2] in-flight zset
-- ARGV[1] attempt  ARGV[2] lease (ms)  ARGV[3] job id
-- Reply: 'applied' | 'stale'
-- Only a dialing or in-call job is in flight; a queued or waiting job with
-- the same attempt number must not re-enter the in-flight set.
local state, attempt = unpack(redis.call('HMGET', KEYS[1], 'state', 'attempt'))
if attempt ~= ARGV[1] or (state ~= 'dialing' and state ~= 'in_call') then
  return 'stale'
end
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[2]), ARGV[3])
return 'applied'
