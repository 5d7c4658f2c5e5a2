-- mark_originated: the provider accepted the call: dialing -> in_call.
-- KEYS[1] job hash  KEYS[2] counts hash  KEYS[3] in-flight zset
-- ARGV[1] attempt  ARGV[2] call sid  ARGV[3] lease (ms)  ARGV[4] job id
-- Reply: 'applied' | 'stale'
local state, attempt, sid, first =
  unpack(redis.call('HMGET', KEYS[1], 'state', 'attempt', 'sid', 'first_dial_at'))
if attempt ~= ARGV[1] then
  return 'stale'
end
if state == 'in_call' and sid == ARGV[2] then
  -- A replay after a lost reply, or a status callback got here first and
  -- adopted the call under the originate lease: the call's lease applies.
  redis.call('ZADD', KEYS[3], 'GT', now_ms() + tonumber(ARGV[3]), ARGV[4])
  return 'applied'
end
if state ~= 'dialing' then
  return 'stale'
end
local now = now_ms()
redis.call('HSET', KEYS[1], 'state', 'in_call', 'sid', ARGV[2], 'updated_at', int(now))
redis.call('HINCRBY', KEYS[1], 'dials', 1)
if not first then
  redis.call('HSET', KEYS[1], 'first_dial_at', int(now))
end
move_count(KEYS[2], KEYS[1], 'dialing', 'in_call')
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[4])
return 'applied'
