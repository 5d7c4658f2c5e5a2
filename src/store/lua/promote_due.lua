-- promote_due: make a shard's due work ready: delayed jobs whose time came,
-- and the head of each official's held queue once the official is due.
-- KEYS[1] delayed zset  KEYS[2] ready stream  KEYS[3] urgent ready stream
-- KEYS[4] schedule zset
-- KEYS[5 .. 4+2n] for each due delayed job: its job hash, its campaign's counts hash
-- KEYS[5+2n ..] for each due official: its held queue
-- ARGV[1] n (due delayed jobs named)  ARGV[2] promotion lease (ms)
-- ARGV[3 .. 2+n] the delayed jobs' ids  ARGV[3+n ..] the officials' ids
-- Reply: {promoted, next due (ms, '' = nothing waiting), entries on the ready streams, now (ms)}
-- The caller names the members it found due (`redis/dispatch.rs`), so every
-- key is declared (Redis Cluster); each is checked again here, atomically.
-- A promoted held job keeps its official scheduled for `lease` (until the
-- job is decided, which reschedules the official), so one official has one
-- job on the ready streams at a time; a decider that dies leaves the entry
-- pending (reclaimed) and the official is looked at again after the lease.
local now = now_ms()
local n = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local promoted = 0
for i = 1, n do
  local id = ARGV[2 + i]
  local job_key, counts_key = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= now then
    redis.call('ZREM', KEYS[1], id)
    local state = redis.call('HGET', job_key, 'state')
    -- Only waiting jobs go back to the ready stream; anything else is a
    -- leftover member of a job that moved on.
    if state == 'queued' or state == 'retry_wait' then
      if state == 'retry_wait' then
        move_count(counts_key, job_key, 'retry_wait', 'queued')
        redis.call('HSET', job_key, 'state', 'queued', 'updated_at', int(now))
      end
      add_ready(KEYS[2], KEYS[3], id, job_key)
      promoted = promoted + 1
    end
  end
end
for i = 3 + n, #ARGV do
  local official, held = ARGV[i], KEYS[2 + n + i]
  local score = redis.call('ZSCORE', KEYS[4], official)
  if score and tonumber(score) <= now then
    local member = redis.call('LPOP', held)
    if member then
      -- `<job id>`, or `<job id>\t1` for an urgent campaign's job (an
      -- earlier version's member has more fields, its urgency last). The
      -- head goes on the urgent stream, which is read first, whatever its
      -- campaign: its official's turn has come, and behind a backlog of new
      -- arrivals on the other stream it would wait out their decisions
      -- (each of them only held, since their official is this one or
      -- another already scheduled). Held again, it goes back to the head.
      redis.call('XADD', KEYS[3], '*', 'job', member:match('^[^\t]*'))
      promoted = promoted + 1
    end
    if redis.call('LLEN', held) > 0 then
      redis.call('ZADD', KEYS[4], now + lease, official)
    else
      redis.call('ZREM', KEYS[4], official)
    end
  end
end
local next_due
for _, key in ipairs({ KEYS[1], KEYS[4] }) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if first[2] and (not next_due or tonumber(first[2]) < next_due) then
    next_due = tonumber(first[2])
  end
end
local ready = redis.call('XLEN', KEYS[2]) + redis.call('XLEN', KEYS[3])
return { promoted, next_due and int(next_due) or '', ready, int(now) }
