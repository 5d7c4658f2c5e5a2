-- probe_shard: what the dialer reads of a shard before promoting it, in one
-- call: the Redis time, the earliest members of the delayed set and of the
-- schedule with their scores, and how many entries the ready streams hold.
-- Reads only; every key is declared and the shard's (one slot).
-- KEYS[1] delayed zset  KEYS[2] schedule zset
-- KEYS[3] ready stream  KEYS[4] urgent ready stream
-- ARGV[1] how many of each set's earliest members
-- Reply: {{seconds, microseconds}, {member, score, ...} of the delayed set,
-- the same of the schedule, entries on the ready stream, on the urgent one}
local function earliest(key)
  return redis.call('ZRANGE', key, '-inf', '+inf', 'BYSCORE', 'LIMIT', 0, ARGV[1],
    'WITHSCORES')
end
return {
  redis.call('TIME'),
  earliest(KEYS[1]),
  earliest(KEYS[2]),
  redis.call('XLEN', KEYS[3]),
  redis.call('XLEN', KEYS[4]),
}
