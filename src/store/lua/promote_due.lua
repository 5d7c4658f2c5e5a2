-- promote_due: move due members of a shard's delayed set to its ready stream.
-- KEYS[1] delayed zset   KEYS[2] ready stream   KEYS[3] urgent ready stream
-- ARGV[1] max   ARGV[2] job key prefix   ARGV[3] counts key prefix
-- Job and counts keys are built from the prefixes (they share the shard's
-- hash tag, so the script stays in one slot); the prefixes come from `Keys`.
-- Reply: number of jobs promoted.
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local promoted = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local job_key = ARGV[2] .. id
  local state = redis.call('HGET', job_key, 'state')
  -- Only waiting jobs go back to the ready stream; anything else is a
  -- leftover member of a job that moved on.
  if state == 'queued' or state == 'retry_wait' then
    if state == 'retry_wait' then
      local campaign = string.match(id, '^([^/]+)/')
      move_count(ARGV[3] .. campaign, job_key, 'retry_wait', 'queued')
      redis.call('HSET', job_key, 'state', 'queued', 'updated_at', int(now))
    end
    add_ready(KEYS[2], KEYS[3], id, job_key)
    promoted = promoted + 1
  end
end
return promoted
