-- recent_visits: a citizen's visits remembered within a window, newest
-- first, each visit once (at its latest).
-- KEYS[k] the visit buckets of the days the window may cover
--   (`Keys::visit_bucket`, one more day on each side for the daemon's
--   clock against Redis's)
-- ARGV[1] the citizen's field  ARGV[2] within (ms)  ARGV[3] at most this many
-- ARGV[4] the start of KEYS[1]'s day (ms since the epoch; the days are
--   consecutive)
-- Reply: {packed visit, ms, packed visit, ms, ...}
local since = now_ms() - tonumber(ARGV[2])
local first_day_start, DAY_MS = tonumber(ARGV[4]), 86400000
local found, latest = {}, {}
for k = 1, #KEYS do
  local day_start = first_day_start + (k - 1) * DAY_MS
  for _, entry in ipairs(visit_entries(redis.call('HGET', KEYS[k], ARGV[1]), day_start)) do
    local ms, visit = entry[1], entry[2]
    if ms >= since and (latest[visit] == nil or ms > latest[visit]) then
      if latest[visit] == nil then
        found[#found + 1] = visit
      end
      latest[visit] = ms
    end
  end
end
table.sort(found, function(a, b)
  return latest[a] > latest[b]
end)
local reply = {}
for i = 1, math.min(#found, tonumber(ARGV[3])) do
  reply[#reply + 1] = found[i]
  reply[#reply + 1] = int(latest[found[i]])
end
return reply
