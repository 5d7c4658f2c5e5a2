-- record_visit: remember citizens' service visits for inbound calls.
-- KEYS[k] a bucket of the visits made known on one day (`Keys::visit_bucket`)
-- ARGV[1] keep (ms)  ARGV[2] when the buckets expire (ms since the epoch)
-- ARGV[3] the start of the buckets' day (ms since the epoch)
-- ARGV[4 + 3 (i - 1) ..] visit i: its bucket's index in KEYS, the
--   citizen's field, the packed visit (`redis/inbound.rs`)
-- A field holds the citizen's visits of the bucket's day, oldest first:
-- `<ms> US <packed visit>` entries joined by RS, `<ms>` since the start
-- of the day (`visit_entries`; the daemon's day, Redis's clock: a little
-- below zero or past the day's end near midnight). A citizen's
-- first visit of the day is one `HSETNX`; another keeps the entries still
-- within `keep` (the same visit made known again replaces its earlier
-- entry).
-- Each bucket's expiry is set once per call, after its writes: a bucket
-- is a day's, and expires whole when that day is past the lookback. The
-- daemon groups a pipeline's visits by bucket, so a call touches few; on
-- a Redis Cluster a call holds one bucket (each in a slot of its own).
-- Reply: 'ok'
local now = now_ms()
local keep, day_start = tonumber(ARGV[1]), tonumber(ARGV[3])
local at, since = int(now - day_start), now - keep
for i = 4, #ARGV, 3 do
  local key, field, visit = KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]
  local entry = at .. US .. visit
  if redis.call('HSETNX', key, field, entry) == 0 then
    local kept = {}
    for _, old in ipairs(visit_entries(redis.call('HGET', key, field), day_start)) do
      if old[1] >= since and old[2] ~= visit then
        kept[#kept + 1] = int(old[1] - day_start) .. US .. old[2]
      end
    end
    kept[#kept + 1] = entry
    redis.call('HSET', key, field, table.concat(kept, RS))
  end
end
for k = 1, #KEYS do
  redis.call('PEXPIREAT', KEYS[k], ARGV[2])
end
return 'ok'
