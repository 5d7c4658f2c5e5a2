-- start_inbound: create the job of an inbound call already in progress.
-- KEYS[1] job hash  KEYS[2] counts hash  KEYS[3] in-flight zset
-- ARGV[1] spec JSON  ARGV[2] official id  ARGV[3] job id  ARGV[4] call sid
-- ARGV[5] lease (ms)  ARGV[6] status  ARGV[7] status rank
-- ARGV[8] attribution JSON until the caller names a visit (unattributed)
-- Reply: {'existing', job fields...} | {'created', job fields...}
-- The job is born in a call: attempt 1, one call placed, nothing to dial.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return append_job({ 'existing' }, KEYS[1])
end
local now = now_ms()
local stamp = int(now)
redis.call('HSET', KEYS[1],
  'spec', ARGV[1], 'o', ARGV[2], 'state', 'in_call',
  'attempt', '1', 'dials', '1', 'sid', ARGV[4], 'status', ARGV[6], 'rank', ARGV[7],
  'step', '0', 'answers', '[]', 'attr', ARGV[8],
  'q', stamp, 'first_dial_at', stamp, 'dial_at', stamp, 'updated_at', stamp)
move_count(KEYS[2], KEYS[1], nil, 'in_call')
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[3])
return append_job({ 'created' }, KEYS[1])
