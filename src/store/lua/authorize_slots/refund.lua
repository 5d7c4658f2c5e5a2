-- authorize on a Redis Cluster: gives back the fleet's units `fleet.lua`
-- spent for a dial the grant step then refused.
-- KEYS[1] department's gcra  KEYS[2] provider's gcra  KEYS[3] live calls zset
-- ARGV[1] department emission (us, '' = none spent)
-- ARGV[2] provider emission (us, '' = none spent)  ARGV[3] the live member ('' = none)
local now = now_us()
if ARGV[1] ~= '' then
  gcra_refund(KEYS[1], tonumber(ARGV[1]), now)
end
if ARGV[2] ~= '' then
  gcra_refund(KEYS[2], tonumber(ARGV[2]), now)
end
if ARGV[3] ~= '' then
  redis.call('ZREM', KEYS[3], ARGV[3])
end
return 'ok'
