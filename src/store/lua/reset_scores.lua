-- reset_scores: forget every scorecard and count again from the start.
-- KEYS[1] cursor  KEYS[2] days set
-- ARGV[1] scorecard key prefix  ARGV[2..] the dimensions
local days = redis.call('SMEMBERS', KEYS[2])
for _, day in ipairs(days) do
  for i = 2, #ARGV do
    redis.call('DEL', ARGV[1] .. ARGV[i] .. ':' .. day)
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
return #days
