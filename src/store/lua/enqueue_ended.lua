-- enqueue_ended: create a batch of jobs of one campaign in one shard that end
-- at once (never dialled: a duplicate number, left out of the sample), each
-- with its record; idempotent per job id like `enqueue`. The clock is read
-- once and each office and service text interned once per batch.
-- KEYS[1] the campaign's counts hash in this shard  KEYS[2] outbox stream
-- KEYS[2 + i] contact i's job hash
-- ARGV[1] department
-- ARGV[2 + 10 (i - 1) ..] contact i: official id, job id, outcome, reason,
--   citizen tag, visit (ms, '' = none), office, service, the contact's
--   packed tail, official's call packed ('' = not one)
-- Reply: one letter per contact, in order: 'c' created, 'u' unchanged,
-- 'x' conflict.
local FIELDS = 10
local counts, dept = KEYS[1], ARGV[1]
local now = now_ms()
local text_id = batch_interner(counts)
local reply = {}
for i = 1, #KEYS - 2 do
  local job_key, at = KEYS[2 + i], 1 + FIELDS * (i - 1)
  local official, id, outcome, reason, ctag, visit, office, service, tail, oc =
    ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6],
    ARGV[at + 7], ARGV[at + 8], ARGV[at + 9], ARGV[at + 10]
  local c = visit .. US .. text_id(office) .. US .. text_id(service) .. US .. tail
  local existing = redis.call('HGET', job_key, 'c')
  if existing then
    reply[i] = same_contact(job_key, existing, c, official, oc) and 'u' or 'x'
  else
    -- An ended job keeps its citizen tag for the relay (`keep_tag`).
    local fields = { 'o', official, 'ctag', ctag, 'c', c, 'q', int(now),
      'reason', reason }
    local own_dept = own_department(counts, dept)
    if own_dept then
      fields[#fields + 1] = 'dept'
      fields[#fields + 1] = own_dept
    end
    if oc ~= '' then
      fields[#fields + 1] = 'oc'
      fields[#fields + 1] = oc
    end
    redis.call('HSET', job_key, unpack(fields))
    end_job(job_key, counts, KEYS[2], id, nil, outcome, now)
    reply[i] = 'c'
  end
end
return reply
