-- save_ivr: save one IVR step, fenced by attempt and step.
-- KEYS[1] job hash
-- ARGV[1] attempt  ARGV[2] expected step  ARGV[3] session JSON  ARGV[4] response
-- ARGV[5] attribution JSON of an inbound call ('' = unchanged)
-- ARGV[6] bridge report JSON of an official's call ('' = unchanged)
-- ARGV[7..] new answers, each a JSON object WITHOUT `at_ms` (stamped here)
-- Reply: {'saved', step} | {'duplicate', response?} | {'stale'}
-- Answers are appended as text, never decoded and re-encoded: cjson would turn
-- an empty array into {} and may reformat numbers.
local state, attempt, step, answers, resp = unpack(redis.call('HMGET', KEYS[1],
  'state', 'attempt', 'step', 'answers', 'resp'))
if attempt ~= ARGV[1] or (state ~= 'dialing' and state ~= 'in_call') then
  return { 'stale' }
end
local expected = tonumber(ARGV[2])
step = tonumber(step) or 0
if step == expected + 1 then
  if resp then
    return { 'duplicate', resp }
  end
  return { 'duplicate' }
end
if step ~= expected then
  return { 'stale' }
end
local now = int(now_ms())
local added = {}
for i = 7, #ARGV do
  added[#added + 1] = string.sub(ARGV[i], 1, -2) .. ',"at_ms":' .. now .. '}'
end
if #added > 0 then
  answers = answers or '[]'
  local joined = table.concat(added, ',')
  if answers == '[]' then
    answers = '[' .. joined .. ']'
  else
    answers = string.sub(answers, 1, -2) .. ',' .. joined .. ']'
  end
  redis.call('HSET', KEYS[1], 'answers', answers)
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'attr', ARGV[5])
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'bridge', ARGV[6])
end
local new_step = int(step + 1)
redis.call('HSET', KEYS[1], 'ivr', ARGV[3], 'resp', ARGV[4], 'step', new_step,
  'updated_at', now)
return { 'saved', new_step }
