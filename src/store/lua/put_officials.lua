-- put_officials: put officials into the registry, all in one step.
-- KEYS[1] the registry hash (field official id, value the official's JSON)
-- ARGV    id, JSON, id, JSON, ... (in file order; a later repeat wins)
-- Reply: {created, updated, unchanged}
-- The JSON of one official is always the same text (`Official::to_stored`),
-- so equal text means nothing changed.
local created, updated, unchanged = 0, 0, 0
for i = 1, #ARGV, 2 do
  local id, official = ARGV[i], ARGV[i + 1]
  local old = redis.call('HGET', KEYS[1], id)
  if not old then
    created = created + 1
    redis.call('HSET', KEYS[1], id, official)
  elseif old ~= official then
    updated = updated + 1
    redis.call('HSET', KEYS[1], id, official)
  else
    unchanged = unchanged + 1
  end
end
return { created, updated, unchanged }
