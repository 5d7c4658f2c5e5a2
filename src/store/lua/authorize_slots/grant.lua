-- authorize, step 4 of 4 on a Redis Cluster (the job's shard): applies
-- what the other slots decided, after checking the shard again (another
-- decider may have moved the job, or spent the official's unit, since
-- step 1). A verdict other than 'granted' after a 'grant' tells the daemon
-- to refund what steps 2 and 3 spent.
-- KEYS, ARGV[1..10]: `context.lua`
-- ARGV[11] 'grant' | 'held' | 'opted_out'
-- ARGV[12] held: until (ms); opted_out: the reason
-- ARGV[13] held: the limit  ARGV[14] grant: the attempt step 1 saw
-- Reply: as `authorize.lua` (the shard's report included), but never
-- 'provider_busy'.
local s = shard_context()

local function decide()
  local verdict = shard_checks(s)
  if verdict then
    return verdict
  end
  if ARGV[11] == 'opted_out' then
    return shard_finish(s, 'opted_out', ARGV[12])
  end
  if ARGV[11] == 'held' then
    return shard_defer(s, tonumber(ARGV[12]), ARGV[13])
  end
  if shard_next_attempt(s) ~= tonumber(ARGV[14]) then
    -- Dialled and requeued by another decider since step 1: its own ready
    -- entry carries it on.
    shard_consume(s)
    return { 'stale', int(s.now) }
  end
  local h = new_hold()
  local official_tat = shard_official(s, h)
  if h.limit then
    return shard_defer(s, h.until_ms, h.limit)
  end
  return shard_grant(s, official_tat)
end

return shard_reported(s, decide())
