-- relay: append feedback records to the feedback stream, each at most once
-- per record id within the dedupe window, each with its escalation if it
-- raised an escalating flag.
-- KEYS[1] the feedback stream  KEYS[2] the escalation stream
-- KEYS[3] escalation ids hash  KEYS[4] open escalations hash
-- KEYS[5..n+4] one dedupe marker per record ({<prefix>:feedback}:relayed:<record id>)
-- ARGV[1] dedupe window (ms)
-- ARGV[3i-1], ARGV[3i], ARGV[3i+1] for the i-th record: its JSON, its
-- escalation id and its escalation JSON ('' and '' when it has none)
-- Reply: {written, already relayed, escalations written}
--
-- Every marker's hash tag is the feedback stream's whole name, so all
-- markers share its slot (see `Keys::relayed`). The marker and the entry are
-- written together: a relay whose acknowledgement was lost after this script
-- ran finds the marker when it relays the same outbox entry again, and skips
-- it. The escalation is written in the same step as its record, and only if
-- its id (derived from the record id) is new: never a record without its
-- escalation, never two escalations for one record.
local window = ARGV[1]
local written, skipped, escalated = 0, 0, 0
for i = 5, #KEYS do
  local a = 3 * (i - 4) - 1
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', window) then
    redis.call('XADD', KEYS[1], '*', 'record', ARGV[a])
    written = written + 1
    local esc_id, esc = ARGV[a + 1], ARGV[a + 2]
    if esc_id ~= '' and redis.call('HEXISTS', KEYS[3], esc_id) == 0 then
      local entry = redis.call('XADD', KEYS[2], '*', 'escalation', esc)
      redis.call('HSET', KEYS[3], esc_id, entry)
      redis.call('HSET', KEYS[4], esc_id, esc)
      escalated = escalated + 1
    end
  else
    skipped = skipped + 1
  end
end
return { written, skipped, escalated }
