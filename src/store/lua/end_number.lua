-- end_number: mark a campaign's number as held by a contact that ended
-- (its record relayed), so a replayed document never calls it again after
-- the contact's job is removed (retention; `redis/results.rs`).
-- KEYS[1] the number's bucket of the campaign's numbers (`Keys::campaign_number`)
-- ARGV[1] the field (the number's tag within the bucket)  ARGV[2] contact id
-- Reply: 1 (marked, or marked before) | 0 (another contact holds it, or none)
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if holder == '=' .. ARGV[2] then
  return 1
end
if holder ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], '=' .. ARGV[2])
return 1
