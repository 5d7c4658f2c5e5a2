-- heartbeat: an instance says it is alive, at the store's clock, and
-- instances silent for longer than the horizon are forgotten.
-- KEYS[1] instances hash (instance name -> last heartbeat, Unix ms)
-- ARGV[1] instance name   ARGV[2] horizon (ms)
-- Reply: the store's time (ms).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seen = redis.call('HGETALL', KEYS[1])
for i = 1, #seen, 2 do
  if now - tonumber(seen[i + 1]) > tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[1], seen[i])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], now)
return now
