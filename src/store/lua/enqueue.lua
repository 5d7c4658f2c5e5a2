-- enqueue: create a queued job once; idempotent per job id. A contact that
-- may not be called yet (before its `nbf`, or its calling window closed at
-- ingest) is parked in the shard's delayed set until then, as `defer` would
-- park it, instead of being made ready.
-- KEYS[1] job hash   KEYS[2] ready stream   KEYS[3] counts hash
-- KEYS[4] urgent ready stream   KEYS[5] delayed zset
-- ARGV[1] official id  ARGV[2] job id  ARGV[3] not before (ms, '' = none)
-- ARGV[4] not after (ms, '' = none)  ARGV[5] citizen tag  ARGV[6] department
-- ARGV[7] priority ('urgent' | '')  ARGV[8] visit (ms, '' = none)
-- ARGV[9] office  ARGV[10] service  ARGV[11] the contact's packed tail
-- ARGV[12] official's call, packed ('' = not one)
-- ARGV[13] the calling window's next opening (ms; '' = open at ingest)
-- Reply: {'created'} | {'parked', due ms} | {'unchanged'} | {'conflict'}
-- The job hash layout is `redis/compact.rs`'s.
local c = ARGV[8] .. US .. intern(KEYS[3], ARGV[9]) .. US .. intern(KEYS[3], ARGV[10]) .. US
  .. ARGV[11]
local existing = redis.call('HGET', KEYS[1], 'c')
if existing then
  return { same_contact(KEYS[1], existing, c, ARGV[1], ARGV[12]) and 'unchanged' or 'conflict' }
end
local now = now_ms()
local fields = { 'state', 'queued', 'official', ARGV[1], 'ctag', ARGV[5], 'dept', ARGV[6],
  'c', c, 'q', int(now) }
local function add(name, value)
  if value ~= '' then
    fields[#fields + 1] = name
    fields[#fields + 1] = value
  end
end
add('prio', ARGV[7])
add('nbf', ARGV[3])
add('naf', ARGV[4])
add('oc', ARGV[12])
local due, reason = 0, nil
if ARGV[3] ~= '' and tonumber(ARGV[3]) > now then
  due, reason = tonumber(ARGV[3]), 'too soon after the visit'
end
if ARGV[13] ~= '' and tonumber(ARGV[13]) > math.max(now, due) then
  due, reason = tonumber(ARGV[13]), 'outside calling hours'
end
if reason then
  add('reason', reason)
  add('updated_at', int(now))
end
redis.call('HSET', KEYS[1], unpack(fields))
move_count(KEYS[3], KEYS[1], nil, 'queued')
if reason then
  redis.call('ZADD', KEYS[5], due, ARGV[2])
  return { 'parked', int(due) }
end
add_ready(KEYS[2], KEYS[4], ARGV[2], KEYS[1])
return { 'created' }
