-- authorize, step 1 of 4 on a Redis Cluster (the job's shard): the
-- verdicts the shard decides alone, applied as `authorize.lua` applies
-- them; else what the next steps need, spending nothing.
-- KEYS, ARGV[1..10]: `context.lua`.
-- Reply: any verdict of `authorize.lua` but 'granted' and 'provider_busy',
--        with the shard's report as `authorize.lua` gives it
--        (`shard_reported`)
--      | {'checked', official's allow time (ms, 0 = now), 'official' or '',
--         the attempt a grant would start}
local s = shard_context()
local verdict = shard_checks(s)
if verdict then
  return shard_reported(s, verdict)
end
local h = new_hold()
shard_official(s, h)
return { 'checked', int(h.until_ms), h.limit or '', int(shard_next_attempt(s)) }
