-- requeue: nothing was placed for this attempt; back to queued via the
-- delayed set.
-- KEYS[1] job hash  KEYS[2] counts hash  KEYS[3] delayed zset  KEYS[4] in-flight zset
-- ARGV[1] attempt  ARGV[2] delay (ms)  ARGV[3] reason  ARGV[4] job id
-- Reply: 'applied' | 'stale'
local state, attempt, sid = unpack(redis.call('HMGET', KEYS[1], 'state', 'attempt', 'sid'))
if state ~= 'dialing' or attempt ~= ARGV[1] or sid then
  return 'stale'
end
local now = now_ms()
redis.call('HSET', KEYS[1], 'state', 'queued', 'reason', ARGV[3], 'updated_at', int(now))
move_count(KEYS[2], KEYS[1], 'dialing', 'queued')
redis.call('ZREM', KEYS[4], ARGV[4])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[4])
return 'applied'
