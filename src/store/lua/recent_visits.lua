-- recent_visits: a citizen's visits remembered within a window, newest first.
-- KEYS[1] the citizen's visits zset
-- ARGV[1] within (ms)  ARGV[2] at most this many
-- Reply: {packed visit, score, packed visit, score, ...}
local since = now_ms() - tonumber(ARGV[1])
return redis.call('ZRANGE', KEYS[1], '+inf', int(since), 'BYSCORE', 'REV',
  'LIMIT', '0', ARGV[2], 'WITHSCORES')
