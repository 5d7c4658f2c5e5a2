-- ack_outbox: the relay's second step (`redis/results.rs`), once the records
-- are in the feedback stream: acknowledges and deletes the relayed outbox
-- entries and sets the ended jobs' expiry, in one step, so a job is never
-- left without one once its entry is acknowledged. Every key is in the
-- shard's slot.
-- KEYS[1] the shard's outbox stream  KEYS[2..] the ended jobs of the entries
-- ARGV[1] the relay's consumer group  ARGV[2] retention (ms)
-- ARGV[3..] the outbox entry ids
-- Reply: the number of entries acknowledged.
local acked = 0
-- In chunks: `unpack` of a very long list would exceed Lua's stack.
local chunk = 1000
for first = 3, #ARGV, chunk do
  local last = math.min(first + chunk - 1, #ARGV)
  acked = acked + redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, first, last))
  redis.call('XDEL', KEYS[1], unpack(ARGV, first, last))
end
for i = 2, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return acked
