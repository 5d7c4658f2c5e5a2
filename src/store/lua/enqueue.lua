-- enqueue: create a queued job once; idempotent per job id.
-- KEYS[1] job hash   KEYS[2] ready stream   KEYS[3] counts hash
-- KEYS[4] urgent ready stream
-- ARGV[1] spec JSON  ARGV[2] official id    ARGV[3] job id
-- ARGV[4] not before (ms, '' = none)  ARGV[5] not after (ms, '' = none)
-- ARGV[6] citizen tag  ARGV[7] department  ARGV[8] priority ('urgent' | '')
-- Reply: {'created'} | {'unchanged'} | {'conflict'}
local existing = redis.call('HGET', KEYS[1], 'spec')
if existing then
  if existing == ARGV[1] then
    return { 'unchanged' }
  end
  return { 'conflict' }
end
local now = int(now_ms())
redis.call('HSET', KEYS[1],
  'spec', ARGV[1], 'official', ARGV[2], 'ctag', ARGV[6], 'dept', ARGV[7], 'state', 'queued',
  'attempt', '0', 'dials', '0', 'rank', '0', 'step', '0', 'answers', '[]',
  'queued_at', now, 'updated_at', now)
if ARGV[8] == 'urgent' then
  redis.call('HSET', KEYS[1], 'prio', 'urgent')
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'nbf', ARGV[4])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'naf', ARGV[5])
end
add_ready(KEYS[2], KEYS[4], ARGV[3], KEYS[1])
move_count(KEYS[3], KEYS[1], nil, 'queued')
return { 'created' }
