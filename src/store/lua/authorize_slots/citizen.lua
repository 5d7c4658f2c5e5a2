-- authorize, step 2 of 4 on a Redis Cluster (the citizen's slot): the
-- do-not-call list and opt-out, then the day and week caps; when nothing
-- holds the dial, its unit of the caps is spent here (and refunded by the
-- daemon if a later step refuses).
-- KEYS[1] citizen opt-out marker  KEYS[2] citizen do-not-call entry
-- KEYS[3] citizen's calls zset
-- ARGV[1] cap per day (0 = none)  ARGV[2] cap per week (0 = none)
-- ARGV[3] the hold so far (ms, 0 = none)  ARGV[4] its limit ('' = none)
-- ARGV[5] the call's member, `<job id>#<attempt>`
-- Reply: {'opted_out', reason} | {'held', until_ms, limit} | {'spent'} | {'clear'}
local refusal = citizen_refusal(KEYS[1], KEYS[2])
if refusal then
  return { 'opted_out', refusal }
end
local t = now_ms()
local per_day, per_week = tonumber(ARGV[1]), tonumber(ARGV[2])
local h = new_hold(tonumber(ARGV[3]), ARGV[4])
citizen_caps(h, KEYS[3], per_day, per_week, t)
if h.limit then
  return { 'held', int(h.until_ms), h.limit }
end
if per_day <= 0 and per_week <= 0 then
  return { 'clear' }
end
citizen_spend(KEYS[3], ARGV[5], per_day, per_week, t)
return { 'spent' }
