-- dnc_put: put one number on the do-not-call list, by its citizen tag.
-- KEYS[1] the citizen's do-not-call entry (hash: reason, added_at_ms, expires_at_ms)
-- ARGV[1] reason  ARGV[2] when the entry lapses (Unix ms; '' = never)
-- Reply: 'added' | 'updated' (whether a live entry was there)
-- The key expires with the entry (PEXPIREAT; an expiry already past deletes
-- it at once), so `authorize.lua`'s EXISTS is the whole liveness check. An
-- entry that is still live keeps the time it was first added. The caller
-- leaves out requests whose expiry has passed, and writes the do-not-call
-- index (another slot) in the same pipeline (see `redis/dnc.rs`), so this
-- script touches one slot.
local now = now_ms()
local expires = tonumber(ARGV[2])
local added, lapses = unpack(redis.call('HMGET', KEYS[1], 'added_at_ms', 'expires_at_ms'))
local live = added and (not lapses or now < tonumber(lapses))
if not live then
  redis.call('DEL', KEYS[1])
  added = int(now)
end
redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'added_at_ms', added)
if expires then
  redis.call('HSET', KEYS[1], 'expires_at_ms', ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
else
  redis.call('HDEL', KEYS[1], 'expires_at_ms')
  redis.call('PERSIST', KEYS[1])
end
if live then
  return 'updated'
end
return 'added'
