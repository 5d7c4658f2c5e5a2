-- defer: consume a ready entry without dialling; the queued job waits in the
-- delayed set.
-- KEYS[1] ready stream  KEYS[2] job hash  KEYS[3] delayed zset
-- ARGV[1] entry id  ARGV[2] until (ms)  ARGV[3] reason  ARGV[4] job id
-- Reply: 'applied' | 'stale'
redis.call('XACK', KEYS[1], 'dialers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], 'state') ~= 'queued' then
  return 'stale'
end
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[4])
redis.call('HSET', KEYS[2], 'reason', ARGV[3], 'updated_at', int(now_ms()))
return 'applied'
