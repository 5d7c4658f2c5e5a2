-- enqueue: create a batch of queued jobs of one campaign in one shard, each
-- once (idempotent per job id). A contact that may not be called yet is
-- parked instead of being made ready: one whose calling window is closed at
-- ingest goes to the campaign's park list for that opening (its bare id
-- pushed at the tail; the list has one member in the delayed set, scored at
-- the opening: `Keys::park_list`, `ParkList::member`), one before its `nbf`
-- to the shard's delayed set until then, as `defer` would park it. A
-- contact that may be called now goes on the ready stream only if its
-- official has nothing waiting (the official is not in the shard's
-- schedule): that first job keeps the official scheduled a promotion lease
-- ahead until it is decided, as `promote_due.lua` does for a promoted head,
-- and the official's later contacts join its held queue (at the tail; an
-- urgent campaign's at the head, in batch order), promoted one at a time
-- when its GCRA allows. So a backlog behind one official costs one ready
-- entry, not one dial decision per contact. One call per (shard, campaign)
-- batch: the clock is read once, each office and service text is interned
-- once, and the counts are added once per official, not once per contact.
-- KEYS[1] ready stream  KEYS[2] urgent ready stream  KEYS[3] delayed zset
-- KEYS[4] the campaign's counts hash in this shard  KEYS[5] schedule zset
-- KEYS[6] the park list of the window's next opening (only when ARGV[3] is set)
-- KEYS[5 + l + i] contact i's job hash (l = 1 with a park list, else 0)
-- then the held queue of each official the batch names, in order of the
--   official's first contact in the batch
-- ARGV[1] department  ARGV[2] priority ('urgent' | '')
-- ARGV[3] the calling window's next opening (ms; '' = open at ingest)
-- ARGV[4] the park list's member in the delayed set ('' when ARGV[3] is)
-- ARGV[5 + 9 (i - 1) ..] contact i: official id, job id, not before (ms,
--   '' = none), not after (ms, '' = none), visit (ms, '' = none), office,
--   service, the contact's packed tail, official's call packed ('' = not
--   one)
-- Reply: one letter per contact, in order: 'c' created (made ready or
-- held behind its official), 'p' created and parked, 'u' unchanged, 'x'
-- conflict (another contact with this id exists).
-- The job hash layout is `redis/compact.rs`'s. A queued job holds no
-- citizen tag (the dialer computes it from the phone) and no department
-- unless it differs from the one its campaign's jobs in this shard keep in
-- the counts hash (`own_department`): the smaller hash fits a smaller
-- allocation (docs/architecture.md, "The compact job").
local FIELDS = 9
local counts, sched, dept, prio = KEYS[4], KEYS[5], ARGV[1], ARGV[2]
local urgent = prio == 'urgent'
local stream = urgent and KEYS[2] or KEYS[1]
local opens = ARGV[3] ~= '' and tonumber(ARGV[3]) or nil
local park_list, park_member = opens and KEYS[6], ARGV[4]
local first_job = opens and 6 or 5
local contacts = (#ARGV - 4) / FIELDS
local now = now_ms()
local text_id = batch_interner(counts)
local queued_at = int(now)
local own_dept = own_department(counts, dept)
local reply, parked, listed, per_official, created = {}, {}, {}, {}, 0
-- Appends an optional field to a job's field list when it has a value.
local function add_field(fields, name, value)
  if value and value ~= '' then
    fields[#fields + 1] = name
    fields[#fields + 1] = value
  end
end
-- Each official the batch names (its held queue's key in order of first
-- appearance), whether it has work waiting (in the schedule; read when
-- first needed), and the ids to push behind it.
local officials, held_keys = {}, first_job + contacts
local function official_of(id)
  local o = officials[id]
  if not o then
    held_keys = held_keys + 1
    o = { held = KEYS[held_keys], ids = {} }
    officials[id] = o
  end
  return o
end
for i = 1, contacts do
  local job_key, at = KEYS[first_job + i], 4 + FIELDS * (i - 1)
  local official, id, nbf, naf, visit, office, service, tail, oc =
    ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6],
    ARGV[at + 7], ARGV[at + 8], ARGV[at + 9]
  local o = official_of(official)
  local c = visit .. US .. text_id(office) .. US .. text_id(service) .. US .. tail
  local existing = redis.call('HGET', job_key, 'c')
  if existing then
    reply[i] = same_contact(job_key, existing, c, official, oc) and 'u' or 'x'
  else
    local due, reason = 0, nil
    if nbf ~= '' and tonumber(nbf) > now then
      due, reason = tonumber(nbf), 'too soon after the visit'
    end
    if opens and opens > math.max(now, due) then
      due, reason = opens, 'outside calling hours'
    end
    -- A parked job writes no `updated_at`: it was last updated when
    -- queued (`q`), and 13 more bytes would take its listpack into a
    -- larger allocation (32 bytes more per parked contact). For the same
    -- reason a contact parked because its window is closed keeps no
    -- `reason`: a queued job in a park list (or, parked by an earlier
    -- version, in the delayed set) without one was parked so
    -- (`redis/jobs.rs`, `PARKED_OUTSIDE_HOURS`), and the 31 bytes of
    -- `reason outside calling hours` would take its listpack from the
    -- 96-byte class to the 128-byte one. Only a `nbf` gives a reason that
    -- is stored, so a contact with none of the optional fields, parked or
    -- not, is the common case: one `HSET`, no field list built (building
    -- it with a table per field cost a closed window's intake 2 µs a
    -- contact: docs/performance.md, "Intake's parked contacts").
    if prio == '' and nbf == '' and naf == '' and oc == '' and not own_dept then
      redis.call('HSET', job_key, 'state', 'queued', 'o', official, 'c', c, 'q', queued_at)
    else
      local fields = { 'state', 'queued', 'o', official, 'c', c, 'q', queued_at }
      add_field(fields, 'prio', prio)
      add_field(fields, 'nbf', nbf)
      add_field(fields, 'naf', naf)
      add_field(fields, 'oc', oc)
      add_field(fields, 'reason', reason ~= 'outside calling hours' and reason or nil)
      add_field(fields, 'dept', own_dept)
      redis.call('HSET', job_key, unpack(fields))
    end
    if reason == 'outside calling hours' then
      listed[#listed + 1] = id
      reply[i] = 'p'
    elseif reason then
      parked[#parked + 1] = int(due)
      parked[#parked + 1] = id
      reply[i] = 'p'
    else
      if o.waiting == nil then
        o.waiting = redis.call('ZSCORE', sched, official) ~= false
      end
      if o.waiting then
        o.ids[#o.ids + 1] = urgent and (id .. '\t1') or id
      else
        redis.call('XADD', stream, '*', 'job', id)
        redis.call('ZADD', sched, now + PROMOTION_LEASE_MS, official)
        o.waiting = true
      end
      reply[i] = 'c'
    end
    created = created + 1
    per_official[official] = (per_official[official] or 0) + 1
  end
end
-- The counts, as `move_count(nil → queued)` would add them one by one.
if created > 0 then
  redis.call('HINCRBY', counts, 'queued', created)
  for official, n in pairs(per_official) do
    redis.call('HINCRBY', counts .. ':officials', official .. '|queued', n)
  end
end
-- Parked members and listed ids in slices: `unpack` is bounded by Lua's C
-- stack. The list's one member is added once (NX: an earlier batch may have
-- added it; its score is the opening its name holds).
for from = 1, #parked, 1000 do
  redis.call('ZADD', KEYS[3], unpack(parked, from, math.min(from + 999, #parked)))
end
for from = 1, #listed, 1000 do
  redis.call('RPUSH', park_list, unpack(listed, from, math.min(from + 999, #listed)))
end
if #listed > 0 then
  redis.call('ZADD', KEYS[3], 'NX', int(opens), park_member)
end
-- Behind each official: at the tail, or (urgent) at the head in batch order.
for _, o in pairs(officials) do
  local ids = o.ids
  if urgent then
    for from = #ids, 1, -1000 do
      local slice = {}
      for j = from, math.max(1, from - 999), -1 do
        slice[#slice + 1] = ids[j]
      end
      redis.call('LPUSH', o.held, unpack(slice))
    end
  else
    for from = 1, #ids, 1000 do
      redis.call('RPUSH', o.held, unpack(ids, from, math.min(from + 999, #ids)))
    end
  end
end
return reply
