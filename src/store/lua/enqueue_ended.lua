-- enqueue_ended: create a job that ends at once (never dialled), with its
-- record; idempotent per job id like `enqueue`.
-- KEYS[1] job hash   KEYS[2] counts hash   KEYS[3] outbox stream
-- ARGV[1] spec JSON  ARGV[2] official id    ARGV[3] job id  ARGV[4] outcome
-- ARGV[5] reason
-- Reply: {'created'} | {'unchanged'} | {'conflict'}
local existing = redis.call('HGET', KEYS[1], 'spec')
if existing then
  if existing == ARGV[1] then
    return { 'unchanged' }
  end
  return { 'conflict' }
end
local now = now_ms()
redis.call('HSET', KEYS[1],
  'spec', ARGV[1], 'official', ARGV[2], 'attempt', '0', 'dials', '0', 'rank', '0',
  'step', '0', 'answers', '[]', 'reason', ARGV[5],
  'queued_at', int(now), 'updated_at', int(now))
end_job(KEYS[1], KEYS[2], KEYS[3], ARGV[3], nil, ARGV[4], now)
return { 'created' }
