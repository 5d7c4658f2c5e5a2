-- relay: append feedback records to the feedback stream, each at most once
-- per record id within the dedupe window.
-- KEYS[1] the feedback stream
-- KEYS[2..n+1] one dedupe marker per record ({<prefix>:feedback}:relayed:<record id>)
-- ARGV[1] dedupe window (ms)  ARGV[2..n+1] the records (JSON), in KEYS order
-- Reply: {written, already relayed}
--
-- Every marker's hash tag is the feedback stream's whole name, so all keys
-- share one slot (see `Keys::relayed`). The marker and the entry are written
-- together: a relay whose acknowledgement was lost after this script ran
-- finds the marker when it relays the same outbox entry again, and skips it.
local window = ARGV[1]
local written, skipped = 0, 0
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', window) then
    redis.call('XADD', KEYS[1], '*', 'record', ARGV[i])
    written = written + 1
  else
    skipped = skipped + 1
  end
end
return {written, skipped}
