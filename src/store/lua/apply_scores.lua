-- apply_scores: add a batch of feedback records to the scorecards and move
-- the cursor past them, only if no one else counted the batch first.
-- KEYS[1] cursor  KEYS[2] days set  (every other key: ARGV[3] .. suffix,
-- in the same slot through the `{<prefix>:scores}` tag)
-- ARGV[1] expected cursor  ARGV[2] next cursor  ARGV[3] scorecard key prefix
-- then triples: <dimension>:<day>, entity, tally JSON ({"counter": n, ...})
-- Reply: 1 applied | 0 the cursor had moved (nothing written)
local cursor = redis.call('GET', KEYS[1]) or '0-0'
if cursor ~= ARGV[1] then
  return 0
end
local seen_days = {}
for i = 4, #ARGV, 3 do
  local suffix, entity, delta = ARGV[i], ARGV[i + 1], cjson.decode(ARGV[i + 2])
  local key = ARGV[3] .. suffix
  local doc = redis.call('HGET', key, entity)
  local tally = doc and cjson.decode(doc) or {}
  for counter, n in pairs(delta) do
    tally[counter] = (tally[counter] or 0) + n
  end
  redis.call('HSET', key, entity, cjson.encode(tally))
  local day = string.sub(suffix, -10)
  if not seen_days[day] then
    seen_days[day] = true
    redis.call('SADD', KEYS[2], day)
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
