-- authorize, step 3 of 4 on a Redis Cluster (the fleet's slot,
-- `{<prefix>:fleet}`): the department's quota, the live-call cap and the
-- provider's rate; when nothing holds the dial, their units are spent here
-- (and refunded by `refund.lua` if the grant is refused).
-- KEYS[1] department's gcra  KEYS[2] provider's gcra  KEYS[3] live calls zset
-- (member `<shard>|<job id>#<attempt>`, score when granted, ms)
-- ARGV[1] department emission (us, '' = no quota)  ARGV[2] department slack (us)
-- ARGV[3] provider emission (us, '' = no cap)  ARGV[4] provider slack (us)
-- ARGV[5] live-call cap ('' = none)  ARGV[6] live-call recheck (ms)
-- ARGV[7] the hold so far (ms, 0 = none)  ARGV[8] its limit ('' = none)
-- ARGV[9] the call's live member
-- Reply: {'held', until_ms, limit} | {'provider_busy', wait_us, now_us} | {'spent'}
local now = now_us()
local now_ms = math.floor(now / 1000)
local h = new_hold(tonumber(ARGV[7]), ARGV[8])
local dept_tat = department_quota(h, KEYS[1], ARGV[1], ARGV[2], now)
if ARGV[5] ~= '' and h.limit == nil then
  live_cap(h, redis.call('ZCARD', KEYS[3]), ARGV[5], ARGV[6], now_ms)
end
if h.limit then
  return { 'held', int(h.until_ms), h.limit }
end
local provider_tat, wait = provider_rate(KEYS[2], ARGV[3], ARGV[4], now)
if provider_tat == false then
  return { 'provider_busy', int(wait), int(now) }
end
if dept_tat then
  gcra_spend(KEYS[1], dept_tat, now)
end
if provider_tat then
  gcra_spend(KEYS[2], provider_tat, now)
end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[3], now_ms, ARGV[9])
end
return { 'spent' }
