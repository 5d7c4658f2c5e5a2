-- finish: end an attempt of a dialing or in-call job.
-- KEYS[1] job hash  KEYS[2] counts hash  KEYS[3] delayed zset
-- KEYS[4] in-flight zset  KEYS[5] outbox stream
-- ARGV[1] attempt  ARGV[2] expected step ('' = any)  ARGV[3] 'retry' | 'terminal'
-- ARGV[4] delay ms (retry) or outcome (terminal)  ARGV[5] '1' if a reason follows
-- ARGV[6] reason  ARGV[7] job id
-- Reply: 'applied' | 'stale'
-- A terminal finish writes the feedback record to the shard's outbox in the
-- same step, so the record exists if and only if the job is terminal.
local state, attempt, step = unpack(redis.call('HMGET', KEYS[1], 'state', 'attempt', 'step'))
if attempt ~= ARGV[1] or (state ~= 'dialing' and state ~= 'in_call') then
  return 'stale'
end
if ARGV[2] ~= '' and tonumber(step or '0') ~= tonumber(ARGV[2]) then
  return 'stale'
end
local now = now_ms()
local has_reason = ARGV[5] == '1'
if has_reason then
  redis.call('HSET', KEYS[1], 'reason', ARGV[6])
else
  redis.call('HDEL', KEYS[1], 'reason')
end
redis.call('ZREM', KEYS[4], ARGV[7])
if ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[1], 'state', 'retry_wait', 'updated_at', int(now))
  move_count(KEYS[2], state, 'retry_wait')
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[7])
  return 'applied'
end

local outcome = ARGV[4]
redis.call('HSET', KEYS[1], 'state', outcome, 'updated_at', int(now))
move_count(KEYS[2], state, outcome)
redis.call('ZREM', KEYS[3], ARGV[7])

-- The record is assembled as text; cjson only encodes strings (it would
-- corrupt long numbers, and it turns an empty array into {}).
local spec_json, dials, answers, queued, first, attr_json = unpack(redis.call('HMGET', KEYS[1],
  'spec', 'dials', 'answers', 'queued_at', 'first_dial_at', 'attr'))
local spec = cjson.decode(spec_json)
local enc = cjson.encode
-- Whom the record is about: the contact, or for an inbound call what the
-- caller named (written by save_ivr).
local about = {
  campaign_id = spec.campaign_id, contact_id = spec.contact.id,
  official_id = spec.contact.official_id, department = spec.department,
  office = spec.contact.office, service = spec.contact.service, attributed = true,
}
if attr_json then
  about = cjson.decode(attr_json)
end
answers = answers or '[]'
local flags, seen = {}, {}
for _, answer in ipairs(cjson.decode(answers)) do
  local flag = answer.flag
  if type(flag) == 'string' and not seen[flag] then
    seen[flag] = true
    flags[#flags + 1] = enc(flag)
  end
end
local record = '{"version":1'
  .. ',"record_id":' .. enc(ARGV[7])
  .. ',"campaign_id":' .. enc(about.campaign_id)
  .. ',"contact_id":' .. enc(about.contact_id)
  .. ',"official_id":' .. enc(about.official_id)
  .. ',"department":' .. enc(about.department)
  .. ',"office":' .. enc(about.office)
  .. ',"service":' .. enc(about.service)
  .. ',"outcome":' .. enc(outcome)
  .. ',"reason":' .. (has_reason and enc(ARGV[6]) or 'null')
  .. ',"attempts":' .. (dials or '0')
  .. ',"answers":' .. answers
  .. ',"flags":[' .. table.concat(flags, ',') .. ']'
  .. ',"queued_at_ms":' .. queued
  .. ',"first_dialled_at_ms":' .. (first or 'null')
  .. ',"finished_at_ms":' .. int(now)
  .. ',"direction":' .. enc(spec.direction or 'outbound')
  .. ',"attributed":' .. (about.attributed and 'true' or 'false')
  .. '}'
redis.call('XADD', KEYS[5], '*', 'record', record)
return 'applied'
