-- claim_numbers: claim campaigns' numbers for their contacts, so that a
-- number listed twice is called once (`redis/enqueue.rs`): each number's
-- field is set to the contact's id unless another holds it, and the
-- holder is read back in the same step.
-- KEYS[i] a number's bucket of its campaign's numbers (`Keys::campaign_number`)
-- ARGV[2i-1] the number's field (its tag within the bucket)
-- ARGV[2i] the contact id claiming it
-- The buckets are in slots of their own: on a Redis Cluster intake sends
-- one key per call; on a single node, a whole batch of claims at once.
-- Reply: for each claim, '' if the contact holds the number now (claimed
-- by this call or before), else what the field holds (another contact's
-- id, or its own with `=` in front once it ended: `end_number.lua`).
local reply = {}
for i = 1, #KEYS do
  local field, contact = ARGV[2 * i - 1], ARGV[2 * i]
  if redis.call('HSETNX', KEYS[i], field, contact) == 1 then
    reply[i] = ''
  else
    local holder = redis.call('HGET', KEYS[i], field)
    reply[i] = holder == contact and '' or holder
  end
end
return reply
