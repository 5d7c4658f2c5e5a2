-- campaign_control: apply an operator's pause, resume or cancel to one shard,
-- for a bounded batch of the campaign's waiting jobs the caller named.
-- KEYS[1] campaign states hash  KEYS[2] the campaign's parked set
-- KEYS[3] ready stream  KEYS[4] delayed zset  KEYS[5] the campaign's counts hash
-- KEYS[6] outbox stream  KEYS[7] urgent ready stream
-- KEYS[8] the official's held queue, or the park list (when found there)
-- KEYS[9] the shard's schedule
-- KEYS[10..] the named jobs' hashes
-- ARGV[1] campaign id  ARGV[2] 'pause' | 'resume' | 'cancel'
-- ARGV[3] where the named jobs were found: 'parked' | 'delayed' | 'held' | 'list'
-- ARGV[4] the official whose held queue KEYS[8] is ('held'), the park
-- list's member in the delayed set ('list'), else ''
-- ARGV[5 .. 4 + n] the n named jobs' ids (for 'held', the queue's members:
-- the job id then tab-separated fields; for 'list', the ids read at the
-- list's head, in order), in the order of KEYS[10..]
-- ARGV[5 + n .. 4 + 2n] cancel only: each named job's citizen tag ('' = none),
-- kept by the jobs it ends (`keep_tag`)
-- Reply: how many jobs the parked set still holds.
-- The caller reads the members (`SRANDMEMBER` of the parked set, `ZSCAN` of
-- the delayed set, `LRANGE` of an official's held queue or of a park list)
-- and names their hashes, so every key is declared (Redis Cluster); each
-- member is checked here again (a park list gives up only the named ids
-- still at its head: a promotion may have taken them). The state is set first, so
-- authorisations that run between batches already park (paused) or end
-- (cancelled) what they read. A parked job leaves the set only in the step
-- that puts it back on the ready stream or ends it: nothing is dropped.
local campaign, action, found_in = ARGV[1], ARGV[2], ARGV[3]
local now = now_ms()
local state = redis.call('HGET', KEYS[1], campaign)

local named = #KEYS - 9

local function each(fn)
  for i = 1, named do
    local member = ARGV[4 + i]
    fn(member, KEYS[9 + i], (string.match(member, '^([^\t]*)')), ARGV[4 + named + i], i)
  end
end

if action == 'pause' then
  if state ~= 'cancelled' then
    redis.call('HSET', KEYS[1], campaign, 'paused')
  end
  return redis.call('SCARD', KEYS[2])
end

if action == 'resume' then
  if state == 'cancelled' then
    return 0
  end
  redis.call('HDEL', KEYS[1], campaign)
  each(function(id, key)
    if redis.call('SREM', KEYS[2], id) == 1 and redis.call('HGET', key, 'state') == 'queued' then
      redis.call('HSET', key, 'reason', 'campaign resumed')
      add_ready(KEYS[3], KEYS[7], id, key)
    end
  end)
  return redis.call('SCARD', KEYS[2])
end

-- cancel: the named parked, delayed, held or listed jobs end `cancelled`.
redis.call('HSET', KEYS[1], campaign, 'cancelled')
-- The named ids still at the park list's head, popped.
local listed = 0
if found_in == 'list' and named > 0 then
  local head = redis.call('LRANGE', KEYS[8], 0, named - 1)
  while listed < named and head[listed + 1] == ARGV[5 + listed] do
    listed = listed + 1
  end
  if listed > 0 then
    redis.call('LTRIM', KEYS[8], listed, -1)
  end
end
each(function(member, key, id, tag, i)
  local held
  if found_in == 'list' then
    held = i <= listed
  elseif found_in == 'parked' then
    held = redis.call('SREM', KEYS[2], id) == 1
  elseif found_in == 'held' then
    held = redis.call('LREM', KEYS[8], 1, member) == 1
  else
    held = redis.call('ZREM', KEYS[4], id) == 1
  end
  local job_state = redis.call('HGET', key, 'state')
  if held and (job_state == 'queued' or job_state == 'retry_wait') then
    redis.call('HSET', key, 'reason', 'campaign cancelled')
    keep_tag(key, tag)
    end_job(key, KEYS[5], KEYS[6], id, job_state, 'cancelled', now)
  end
end)
-- An emptied held queue leaves the schedule (present only while not
-- empty), an emptied park list the delayed set.
if found_in == 'held' and redis.call('LLEN', KEYS[8]) == 0 then
  redis.call('ZREM', KEYS[9], ARGV[4])
end
if found_in == 'list' and redis.call('LLEN', KEYS[8]) == 0 then
  redis.call('ZREM', KEYS[4], ARGV[4])
end
return redis.call('SCARD', KEYS[2])
