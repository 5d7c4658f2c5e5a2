-- claim_sample: claim places for contacts in one (campaign, office, day) of
-- a `max_per_office_per_day` sample, in order. Idempotent: a contact that
-- holds a place keeps it, so a replayed document neither counts twice nor
-- changes who was chosen.
-- KEYS[1] the slot's set of contact ids
-- ARGV[1] cap (at most this many places)  ARGV[2 ..] contact ids, in claim order
-- Reply: per contact, 1 (it holds a place) | 0 (the slot is full)
local cap = tonumber(ARGV[1])
local taken = redis.call('SCARD', KEYS[1])
local reply = {}
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
    reply[#reply + 1] = 1
  elseif taken >= cap then
    reply[#reply + 1] = 0
  else
    redis.call('SADD', KEYS[1], ARGV[i])
    taken = taken + 1
    reply[#reply + 1] = 1
  end
end
return reply
