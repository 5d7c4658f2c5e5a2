-- authorize: consume a ready entry and, if the official's GCRA conforms,
-- start an attempt. Same arithmetic as `store/gcra.rs`, in integer microseconds.
-- KEYS[1] ready stream  KEYS[2] job hash  KEYS[3] counts hash  KEYS[4] gcra key
-- KEYS[5] delayed zset  KEYS[6] in-flight zset  KEYS[7] campaign states hash
-- KEYS[8] the campaign's parked set  KEYS[9] outbox stream
-- ARGV[1] entry id  ARGV[2] emission (us)  ARGV[3] slack (us)  ARGV[4] lease (ms)
-- ARGV[5] job id  ARGV[6] campaign id
-- Reply: {'stale', now_us} | {'limited', allow_at_ms, now_us}
--      | {'parked', now_us} | {'cancelled', now_us} | {'expired', now_us}
--      | {'granted', now_us, now_ms, job fields...}
-- A paused campaign's job is parked (no quota spent, no work until resumed);
-- a cancelled campaign's job ends `cancelled` with its record.
-- The entry is always acknowledged and deleted: the job now lives in exactly
-- one place (dialing, delayed, or wherever it was if stale).
redis.call('XACK', KEYS[1], 'dialers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
local now = now_us()
local state = redis.call('HGET', KEYS[2], 'state')
if state ~= 'queued' then
  return { 'stale', int(now) }
end
local campaign_state = redis.call('HGET', KEYS[7], ARGV[6])
if campaign_state == 'paused' then
  redis.call('ZREM', KEYS[5], ARGV[5])
  redis.call('SADD', KEYS[8], ARGV[5])
  redis.call('HSET', KEYS[2], 'reason', 'campaign paused', 'updated_at', int(math.floor(now / 1000)))
  return { 'parked', int(now) }
end
if campaign_state == 'cancelled' then
  redis.call('ZREM', KEYS[5], ARGV[5])
  redis.call('HSET', KEYS[2], 'reason', 'campaign cancelled')
  end_job(KEYS[2], KEYS[3], KEYS[9], ARGV[5], 'queued', 'cancelled', math.floor(now / 1000))
  return { 'cancelled', int(now) }
end
-- Freshness: past its deadline the contact ends `expired`; too soon after
-- the visit it waits, without spending the official's quota.
local nbf, naf = unpack(redis.call('HMGET', KEYS[2], 'nbf', 'naf'))
local now_ms_fresh = math.floor(now / 1000)
if naf and now_ms_fresh > tonumber(naf) then
  redis.call('ZREM', KEYS[5], ARGV[5])
  redis.call('HSET', KEYS[2], 'reason', 'past its deadline (the visit is too long ago, or the campaign expired)')
  end_job(KEYS[2], KEYS[3], KEYS[9], ARGV[5], 'queued', 'expired', now_ms_fresh)
  return { 'expired', int(now) }
end
if nbf and now_ms_fresh < tonumber(nbf) then
  redis.call('ZADD', KEYS[5], nbf, ARGV[5])
  redis.call('HSET', KEYS[2], 'reason', 'too soon after the visit', 'updated_at', int(now_ms_fresh))
  return { 'limited', nbf, int(now) }
end
local emission, slack = tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[4])) or now
if tat < now then
  tat = now
end
local allow_at = tat - slack
local now_ms = math.floor(now / 1000)
if now < allow_at then
  local allow_ms = math.ceil(allow_at / 1000)
  redis.call('ZADD', KEYS[5], allow_ms, ARGV[5])
  redis.call('HSET', KEYS[2], 'reason', 'rate limited', 'updated_at', int(now_ms))
  return { 'limited', int(allow_ms), int(now) }
end
local new_tat = tat + emission
-- The previous attempt's call joins the calls this job must never adopt.
local previous = redis.call('HGET', KEYS[2], 'sid')
if previous then
  local past = redis.call('HGET', KEYS[2], 'past')
  redis.call('HSET', KEYS[2], 'past', past and (past .. ',' .. previous) or previous)
end
-- Once the TAT is in the past it equals "no state", so the key can go then.
redis.call('SET', KEYS[4], int(new_tat), 'PX', int(math.max(1, math.ceil((new_tat - now) / 1000))))
redis.call('HINCRBY', KEYS[2], 'attempt', 1)
redis.call('HSET', KEYS[2], 'state', 'dialing', 'rank', '0', 'dial_at', int(now_ms),
  'updated_at', int(now_ms))
-- A new attempt starts a new IVR session: an earlier attempt's (answered,
-- but with no input ever received) must not be replayed to this call.
redis.call('HSET', KEYS[2], 'step', '0')
redis.call('HDEL', KEYS[2], 'sid', 'status', 'reason', 'ivr', 'resp')
move_count(KEYS[3], 'queued', 'dialing')
-- A duplicate ready entry may have left the job in the delayed set too.
redis.call('ZREM', KEYS[5], ARGV[5])
redis.call('ZADD', KEYS[6], now_ms + tonumber(ARGV[4]), ARGV[5])
return append_job({ 'granted', int(now), int(now_ms) }, KEYS[2])
