-- ack_escalation: acknowledge an escalation once.
-- KEYS[1] escalation ids hash  KEYS[2] open escalations hash
-- KEYS[3] acknowledgements hash
-- ARGV[1] escalation id  ARGV[2] acknowledgement JSON
-- Reply: {'acked'} | {'already', <first acknowledgement JSON>} | {'unknown'}
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return { 'unknown' }
end
local first = redis.call('HGET', KEYS[3], ARGV[1])
if first then
  return { 'already', first }
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
return { 'acked' }
