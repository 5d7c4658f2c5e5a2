-- record_visit: remember a citizen's service visit for an inbound call.
-- KEYS[1] the citizen's visits zset (member the packed visit, score ms)
-- ARGV[1] the packed visit (`redis/inbound.rs`)  ARGV[2] keep (ms)
-- Reply: 'ok'
local now = now_ms()
local keep = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], int(now), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. int(now - keep))
redis.call('PEXPIRE', KEYS[1], int(keep))
return 'ok'
