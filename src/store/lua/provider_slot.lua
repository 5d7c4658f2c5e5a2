-- provider_slot: take one of the provider's call starts, fleet-wide (GCRA
-- over all instances; the same arithmetic as `authorize.lua`).
-- KEYS[1] the provider's GCRA key
-- ARGV[1] emission (us)  ARGV[2] slack (us)
-- Reply: 0 when the start conforms (taken), else microseconds to wait.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission, slack = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local allow_at = tat - slack
if now < allow_at then
  return string.format('%.0f', allow_at - now)
end
local new_tat = tat + emission
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
  string.format('%.0f', math.max(1, math.ceil((new_tat - now) / 1000))))
return '0'
