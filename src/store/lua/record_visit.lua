-- record_visit: remember citizens' service visits for inbound calls.
-- KEYS[i] citizen i's visits zset (member the packed visit, score ms)
-- ARGV[1] keep (ms)  ARGV[1 + i] citizen i's packed visit (`redis/inbound.rs`)
-- The zsets are in slots of their own: on a Redis Cluster intake sends one
-- key per call; on a single node, every visit of a pipeline at once (the
-- clock read once, one script call instead of one per citizen).
-- Reply: 'ok'
local now = now_ms()
local keep = tonumber(ARGV[1])
local at, stale, ttl = int(now), '(' .. int(now - keep), int(keep)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], at, ARGV[1 + i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', stale)
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 'ok'
