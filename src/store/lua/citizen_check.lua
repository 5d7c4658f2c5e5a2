-- citizen_check: opt-out and per-day cap for one citizen (one hash tag).
-- KEYS[1] opt-out marker  KEYS[2] day counter
-- ARGV[1] cap
-- Reply: 'opted_out' | 'cap_reached' | 'allowed' (counter incremented)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 'opted_out'
end
local calls = tonumber(redis.call('GET', KEYS[2])) or 0
if calls >= tonumber(ARGV[1]) then
  return 'cap_reached'
end
redis.call('INCR', KEYS[2])
-- Two days: the counter outlives its day in every time zone, then goes.
redis.call('EXPIRE', KEYS[2], 172800)
return 'allowed'
