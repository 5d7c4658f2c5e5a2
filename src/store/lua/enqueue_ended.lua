-- enqueue_ended: create a job that ends at once (never dialled), with its
-- record; idempotent per job id like `enqueue`.
-- KEYS[1] job hash   KEYS[2] counts hash   KEYS[3] outbox stream
-- ARGV[1] official id  ARGV[2] job id  ARGV[3] outcome  ARGV[4] reason
-- ARGV[5] citizen tag  ARGV[6] department  ARGV[7] visit (ms, '' = none)
-- ARGV[8] office  ARGV[9] service  ARGV[10] the contact's packed tail
-- ARGV[11] official's call, packed ('' = not one)
-- Reply: {'created'} | {'unchanged'} | {'conflict'}
local c = ARGV[7] .. US .. intern(KEYS[2], ARGV[8]) .. US .. intern(KEYS[2], ARGV[9]) .. US
  .. ARGV[10]
local existing = redis.call('HGET', KEYS[1], 'c')
if existing then
  return { same_contact(KEYS[1], existing, c, ARGV[1], ARGV[11]) and 'unchanged' or 'conflict' }
end
local now = now_ms()
local fields = { 'official', ARGV[1], 'ctag', ARGV[5], 'dept', ARGV[6], 'c', c, 'q', int(now),
  'reason', ARGV[4] }
if ARGV[11] ~= '' then
  fields[#fields + 1] = 'oc'
  fields[#fields + 1] = ARGV[11]
end
redis.call('HSET', KEYS[1], unpack(fields))
end_job(KEYS[1], KEYS[2], KEYS[3], ARGV[2], nil, ARGV[3], now)
return { 'created' }
