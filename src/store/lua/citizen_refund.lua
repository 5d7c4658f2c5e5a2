-- citizen_refund: give back a unit of a citizen's day cap that a dial took
-- but never used (the call was not placed).
-- KEYS[1] day counter
-- Reply: the counter after the refund.
local calls = tonumber(redis.call('GET', KEYS[1])) or 0
if calls <= 0 then
  return 0
end
return redis.call('DECR', KEYS[1])
