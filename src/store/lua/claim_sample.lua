-- claim_sample: claim a place for a contact in one (campaign, office, day)
-- of a `max_per_office_per_day` sample. Idempotent: a contact that holds a
-- place keeps it, so a replayed document neither counts twice nor changes
-- who was chosen.
-- KEYS[1] the slot's set of contact ids
-- ARGV[1] contact id  ARGV[2] cap (at most this many places)
-- Reply: 1 (the contact holds a place) | 0 (the slot is full)
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return 1
end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
