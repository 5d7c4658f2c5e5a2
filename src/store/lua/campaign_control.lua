-- campaign_control: apply an operator's pause, resume or cancel to one shard.
-- KEYS[1] campaign states hash  KEYS[2] the campaign's parked set
-- KEYS[3] ready stream  KEYS[4] delayed zset  KEYS[5] the campaign's counts hash
-- KEYS[6] outbox stream  KEYS[7] urgent ready stream
-- ARGV[1] campaign id  ARGV[2] 'pause' | 'resume' | 'cancel'  ARGV[3] job key prefix
-- ARGV[4] delayed-set scan cursor (cancel)  ARGV[5] batch size
-- Reply: the cursor to call again with, or '0' when the shard is done.
-- Each call does a bounded batch, so a large backlog never blocks Redis for
-- long; the state is set first, so authorisations that run between batches
-- already park (paused) or end (cancelled) what they read.
local campaign, action, prefix = ARGV[1], ARGV[2], ARGV[3]
local batch = tonumber(ARGV[5])
local now = now_ms()
local state = redis.call('HGET', KEYS[1], campaign)

if action == 'pause' then
  if state ~= 'cancelled' then
    redis.call('HSET', KEYS[1], campaign, 'paused')
  end
  return '0'
end

if action == 'resume' then
  if state == 'cancelled' then
    return '0'
  end
  redis.call('HDEL', KEYS[1], campaign)
  -- Parked jobs go back to the ready stream, at most `batch` per call.
  for _, id in ipairs(redis.call('SPOP', KEYS[2], batch)) do
    if redis.call('HGET', prefix .. id, 'state') == 'queued' then
      redis.call('HSET', prefix .. id, 'reason', 'campaign resumed')
      add_ready(KEYS[3], KEYS[7], id, prefix .. id)
    end
  end
  if redis.call('SCARD', KEYS[2]) > 0 then
    return '1'
  end
  return '0'
end

-- cancel: parked jobs first, then waiting jobs in the delayed set.
redis.call('HSET', KEYS[1], campaign, 'cancelled')
local function cancel_job(id)
  local key = prefix .. id
  local job_state = redis.call('HGET', key, 'state')
  if job_state == 'queued' or job_state == 'retry_wait' then
    redis.call('ZREM', KEYS[4], id)
    redis.call('HSET', key, 'reason', 'campaign cancelled')
    end_job(key, KEYS[5], KEYS[6], id, job_state, 'cancelled', now)
  end
end
local parked = redis.call('SPOP', KEYS[2], batch)
for _, id in ipairs(parked) do
  cancel_job(id)
end
if #parked > 0 then
  return ARGV[4]
end
local scan = redis.call('ZSCAN', KEYS[4], ARGV[4], 'MATCH', campaign .. '/*', 'COUNT', batch)
for i = 1, #scan[2], 2 do
  cancel_job(scan[2][i])
end
return scan[1]
