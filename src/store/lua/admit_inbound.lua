-- admit_inbound: count an inbound call among the fleet's live ones, up to a cap.
-- KEYS[1] live inbound calls zset (member call sid, score expiry ms)
-- ARGV[1] call sid  ARGV[2] max live  ARGV[3] hold (ms)
-- Reply: 'admitted' | 'busy'
-- An entry whose hold ran out (its call was never released, e.g. the daemon
-- that took it died) no longer counts.
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now))
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 'admitted'
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 'busy'
end
redis.call('ZADD', KEYS[1], int(now + tonumber(ARGV[3])), ARGV[1])
return 'admitted'
