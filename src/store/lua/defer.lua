-- defer: consume a ready entry without dialling (its calling window is
-- closed); the queued job waits in the delayed set. The entry held its
-- official's place: the official's next held job is due for promotion now
-- rather than when the promotion lease runs out (the GCRA allowed a dial
-- when the entry was made ready, and none was granted since, ready entries
-- being one per official), and an official with nothing held leaves the
-- schedule, as `shard_reschedule` (authorize/shard.lua) does after a
-- decision.
-- KEYS[1] ready stream  KEYS[2] job hash  KEYS[3] delayed zset
-- KEYS[4] the official's held queue  KEYS[5] the shard's schedule
-- ARGV[1] entry id  ARGV[2] until (ms)  ARGV[3] reason  ARGV[4] job id
-- ARGV[5] official id
-- Reply: 'applied' | 'stale'
redis.call('XACK', KEYS[1], 'dialers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
local now = now_ms()
if redis.call('LLEN', KEYS[4]) > 0 then
  redis.call('ZADD', KEYS[5], now, ARGV[5])
else
  redis.call('ZREM', KEYS[5], ARGV[5])
end
if redis.call('HGET', KEYS[2], 'state') ~= 'queued' then
  return 'stale'
end
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[4])
redis.call('HSET', KEYS[2], 'reason', ARGV[3], 'updated_at', int(now))
return 'applied'
