-- read_subjects: what the ready entries of one shard's read batch name the
-- dial decision's keys by, for the whole batch in one call (one slot: every
-- key is the shard's).
-- KEYS[1 .. n] the entries' job hashes
-- KEYS[n+1 ..] counts hashes of the batch's campaigns whose department the
--   caller has not cached
-- ARGV[1] n
-- Reply: flat {official, packed contact, own department} per job (nil where
-- the job holds none: a job gone, or a compact job without `dept`), then the
-- department each counts hash keeps (`#d`, nil if none), in KEYS order.
local n = tonumber(ARGV[1])
local reply = {}
for i = 1, n do
  local official, packed, dept, earlier =
    unpack(redis.call('HMGET', KEYS[i], 'o', 'c', 'dept', 'official'))
  -- A job an earlier version wrote names its official `official`.
  reply[#reply + 1] = official or earlier
  reply[#reply + 1] = packed
  reply[#reply + 1] = dept
end
for i = n + 1, #KEYS do
  reply[#reply + 1] = redis.call('HGET', KEYS[i], '#d')
end
return reply
