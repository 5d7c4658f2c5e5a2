-- intake_tally: add what ingesting one intake entry did to its campaign's
-- tally, once per entry (a replay after a crash counts nothing).
-- KEYS[1] the campaign's tally (hash)  KEYS[2] intake entries counted (set)
-- KEYS[3] the campaign's newest refusals (list of JSON, newest first)
-- ARGV[1] intake entry id  ARGV[2] refusals to keep
-- ARGV[3] documents accepted  ARGV[4] documents refused  ARGV[5] contacts refused
-- ARGV[6..] the entry's refusals, oldest first: source, reason, source, reason, ...
-- Reply: 1 counted now, 0 counted before.
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  return 0
end
local fields = { 'documents_accepted', 'documents_refused', 'contacts_refused' }
for i, field in ipairs(fields) do
  -- Every field is written, so the hash exists once an entry was counted.
  redis.call('HINCRBY', KEYS[1], field, tonumber(ARGV[2 + i]))
end
local at = int(now_ms())
for i = 6, #ARGV - 1, 2 do
  redis.call('LPUSH', KEYS[3], cjson.encode({ at_ms = at, source = ARGV[i], reason = ARGV[i + 1] }))
end
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
return 1
