-- end_number: mark campaigns' numbers as held by contacts that ended (their
-- records relayed), so a replayed document never calls them again after
-- the contacts' jobs are removed (retention; `redis/results.rs`).
-- KEYS[i] a number's bucket of its campaign's numbers (`Keys::campaign_number`)
-- ARGV[2i-1] the number's field (its tag within the bucket)
-- ARGV[2i] the contact id that held it
-- The buckets are in slots of their own: on a Redis Cluster the relay sends
-- one key per call; on a single node, every number of a relay pass at once.
-- Reply: how many numbers are marked (now or before); a number another
-- contact holds, or nobody, is left alone.
local marked = 0
for i = 1, #KEYS do
  local field, contact = ARGV[2 * i - 1], ARGV[2 * i]
  local holder = redis.call('HGET', KEYS[i], field)
  if holder == '=' .. contact then
    marked = marked + 1
  elseif holder == contact then
    redis.call('HSET', KEYS[i], field, '=' .. contact)
    marked = marked + 1
  end
end
return marked
