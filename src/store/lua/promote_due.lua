-- promote_due: make a shard's due work ready: delayed jobs whose time came,
-- the jobs at the head of each due park list (contacts parked at ingest
-- until their window opens, `Keys::park_list`), and the head of each
-- official's held queue once the official is due.
-- KEYS[1] delayed zset  KEYS[2] ready stream  KEYS[3] urgent ready stream
-- KEYS[4] schedule zset
-- KEYS[5 .. 4+2n] for each due delayed job: its job hash, its campaign's counts hash
-- then for each due park list: the list, then the job hash of each id named for it
-- then for each due official: its held queue
-- ARGV[1] n (due delayed jobs named)  ARGV[2] promotion lease (ms)
-- ARGV[3] m (due park lists named)
-- ARGV[4 .. 3+n] the delayed jobs' ids
-- then for each park list: its member in the delayed set, k, then the k ids
-- the caller read from the list's head, in order
-- then the officials' ids
-- Reply: {promoted, next due (ms, '' = nothing waiting), entries on the ready streams, now (ms)}
-- The caller names the members it found due (`redis/dispatch.rs`), and for
-- a park list the ids it read at its head (at most its batch), so every key
-- is declared (Redis Cluster); each is checked again here, atomically: a
-- list gives up only the ids named that are still at its head, in order
-- (another instance may have promoted them meanwhile), and keeps its member
-- until it is empty, so the shard's next due time stays the list's opening,
-- in the past, until every batch of it is promoted.
-- A promoted held job keeps its official scheduled for `lease` (until the
-- job is decided, which reschedules the official), so one official has one
-- job on the ready streams at a time; a decider that dies leaves the entry
-- pending (reclaimed) and the official is looked at again after the lease.
local now = now_ms()
local n = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local lists = tonumber(ARGV[3])
local promoted = 0
for i = 1, n do
  local id = ARGV[3 + i]
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
-- The park lists: `key` and `arg` are the next unread KEYS and ARGV.
local key, arg = 5 + 2 * n, 4 + n
for _ = 1, lists do
  local list, member, k = KEYS[key], ARGV[arg], tonumber(ARGV[arg + 1])
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and tonumber(score) <= now then
    local head = k > 0 and redis.call('LRANGE', list, 0, k - 1) or {}
    local taken = 0
    while taken < k and head[taken + 1] == ARGV[arg + 2 + taken] do
      taken = taken + 1
    end
    if taken > 0 then
      redis.call('LTRIM', list, taken, -1)
    end
    for j = 1, taken do
      local id, job_key = ARGV[arg + 1 + j], KEYS[key + j]
      -- A job that moved on (cancelled while listed) is dropped.
      if redis.call('HGET', job_key, 'state') == 'queued' then
        add_ready(KEYS[2], KEYS[3], id, job_key)
        promoted = promoted + 1
      end
    end
    if redis.call('LLEN', list) == 0 then
      redis.call('ZREM', KEYS[1], member)
    end
  end
  key, arg = key + 1 + k, arg + 2 + k
end
for i = arg, #ARGV do
  local official, held = ARGV[i], KEYS[key + i - arg]
  local score = redis.call('ZSCORE', KEYS[4], official)
  if score and tonumber(score) <= now then
    local member = redis.call('LPOP', held)
    if member then
      -- `<job id>`, or `<job id>\t1` for an urgent campaign's job (an
      -- earlier version's member has more fields, its urgency last).
      local job, urgent = member:match('^[^\t]*'), member:sub(-2) == '\t1'
      redis.call('XADD', urgent and KEYS[3] or KEYS[2], '*', 'job', job)
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
for _, zset in ipairs({ KEYS[1], KEYS[4] }) do
  local first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
  if first[2] and (not next_due or tonumber(first[2]) < next_due) then
    next_due = tonumber(first[2])
  end
end
local ready = redis.call('XLEN', KEYS[2]) + redis.call('XLEN', KEYS[3])
return { promoted, next_due and int(next_due) or '', ready, int(now) }
