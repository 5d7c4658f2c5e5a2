-- Fragment: the shard step's context (`authorize/shard.lua`) from the
-- KEYS/ARGV layout `job.lua` and `grant.lua` share:
-- KEYS[1] ready stream  KEYS[2] job hash  KEYS[3] counts hash  KEYS[4] official's gcra
-- KEYS[5] delayed zset  KEYS[6] in-flight zset  KEYS[7] campaign states hash
-- KEYS[8] the campaign's parked set  KEYS[9] outbox stream
-- KEYS[10] the official's held queue  KEYS[11] the shard's schedule zset
-- KEYS[12] the shard's other ready stream (urgent if KEYS[1] is not)
-- ARGV[1] entry id  ARGV[2] official emission (us)  ARGV[3] official slack (us)
-- ARGV[4] lease (ms)  ARGV[5] job id  ARGV[6] campaign id
-- ARGV[7] the job's held-queue member  ARGV[8] '1' if urgent  ARGV[9] official id
-- ARGV[10] the citizen tag
local function shard_context()
  local now = now_us()
  return shard_streams({
    ready = KEYS[1], job = KEYS[2], counts = KEYS[3], gcra = KEYS[4], delayed = KEYS[5],
    inflight = KEYS[6], states = KEYS[7], parked = KEYS[8], outbox = KEYS[9], held = KEYS[10],
    sched = KEYS[11], entry = ARGV[1], emission = tonumber(ARGV[2]), slack = tonumber(ARGV[3]),
    lease = tonumber(ARGV[4]), job_id = ARGV[5], campaign = ARGV[6], member = ARGV[7],
    urgent = ARGV[8], official = ARGV[9], tag = ARGV[10], now = now,
    now_ms = math.floor(now / 1000),
  }, KEYS[1], KEYS[12])
end
