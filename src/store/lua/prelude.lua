-- Shared helpers, prepended to every job script by `redis/scripts.rs`.
-- Defines locals only (Redis 7 forbids globals in scripts).

-- Redis TIME as integer microseconds. Lua numbers are doubles: exact up to
-- 2^53 us (year 2255), so no precision is lost.
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function now_ms()
  return math.floor(now_us() / 1000)
end

-- Integers as decimal strings: replies and stored fields never go through
-- Lua's number-to-string conversion, which switches to exponent notation.
local function int(n)
  return string.format('%.0f', n)
end

-- Moves one job between the state counters of its campaign (HINCRBY old -1,
-- new +1), and of its official: the hash `<counts key>:officials`, field
-- `<official>|<state>`, the official read from the job hash (set when the
-- job is created, never changed). That hash shares the counts key's hash tag
-- (see `Keys::official_counts`). Like the campaign's, a count that drops to
-- zero stays (so every move costs the same commands); one never goes below
-- zero: a job created before per-official counts existed leaves a state it
-- was never counted in, and the field is removed instead.
-- A job's official: `o`, or `official` in a job an earlier version wrote.
local function job_official(job_key)
  return redis.call('HGET', job_key, 'o') or redis.call('HGET', job_key, 'official')
end

local function move_count(counts_key, job_key, from, to)
  if from == to then
    return
  end
  local officials_key = counts_key .. ':officials'
  local official = job_official(job_key)
  if from then
    redis.call('HINCRBY', counts_key, from, -1)
    if official then
      local field = official .. '|' .. from
      if redis.call('HINCRBY', officials_key, field, -1) < 0 then
        redis.call('HDEL', officials_key, field)
      end
    end
  end
  redis.call('HINCRBY', counts_key, to, 1)
  if official then
    redis.call('HINCRBY', officials_key, official .. '|' .. to, 1)
  end
end

local LIVE = { queued = true, dialing = true, in_call = true, retry_wait = true }

-- How long an official stays scheduled while a job of its, made ready, waits
-- for its decision (`PROMOTION_LEASE` in `redis/dispatch.rs`, which passes
-- the same to `promote_due.lua`): one job per official on the ready streams.
local PROMOTION_LEASE_MS = 30000

local function is_terminal(state)
  return state ~= false and state ~= nil and not LIVE[state]
end

-- Adds a ready entry for a queued job, to the urgent stream if its campaign
-- is urgent. An entry holds only the job id (~38 bytes): the reader takes
-- what the authorising step needs (official, citizen tag, department) from
-- the job hash (`redis/dispatch.rs`).
local function add_ready(stream, urgent_stream, job_id, job_key)
  if redis.call('HGET', job_key, 'prio') == 'urgent' then
    stream = urgent_stream
  end
  redis.call('XADD', stream, '*', 'job', job_id)
end

-- The job hash as a flat field/value list, appended to a reply.
local function append_job(reply, job_key)
  local fields = redis.call('HGETALL', job_key)
  for i = 1, #fields do
    reply[#reply + 1] = fields[i]
  end
  return reply
end

-- The id of an office or service text in the campaign's counts hash of the
-- job's shard, given one the first time the text is seen there: `=<text>` →
-- id, `#<id>` → text, `#` → the last id given (`Keys::counts`; an id never
-- changes meaning).
local function intern(counts_key, text)
  local id = redis.call('HGET', counts_key, '=' .. text)
  if id then
    return id
  end
  id = int(redis.call('HINCRBY', counts_key, '#', 1))
  redis.call('HSET', counts_key, '=' .. text, id, '#' .. id, text)
  return id
end

-- `intern` for a batch of contacts: each distinct text is looked up once
-- per script call.
local function batch_interner(counts_key)
  local ids = {}
  return function(text)
    local id = ids[text]
    if not id then
      id = intern(counts_key, text)
      ids[text] = id
    end
    return id
  end
end

-- The unit separator of packed job values (`redis/compact.rs`).
local US = string.char(31)

-- The separator of a citizen's visits in a visit bucket's field
-- (`record_visit.lua`; escaped out of every packed text, `redis/compact.rs`).
local RS = string.char(30)

-- A visit bucket's field as {ms, packed visit} pairs, oldest first (none
-- for a field not there). An entry holds its time as milliseconds since
-- the start of the bucket's day (`day_start`, ms since the epoch): 8
-- digits at most, not 13.
local function visit_entries(field, day_start)
  local entries = {}
  if not field then
    return entries
  end
  for entry in string.gmatch(field, '[^' .. RS .. ']+') do
    local at = string.find(entry, US, 1, true)
    if at then
      entries[#entries + 1] = { day_start + tonumber(string.sub(entry, 1, at - 1)), string.sub(entry, at + 1) }
    end
  end
  return entries
end

-- The fields of a packed value, in order (empty ones included).
local function unpack_fields(packed)
  local parts, from = {}, 1
  while true do
    local at = string.find(packed, US, from, true)
    if not at then
      parts[#parts + 1] = string.sub(packed, from)
      return parts
    end
    parts[#parts + 1] = string.sub(packed, from, at - 1)
    from = at + 1
  end
end

-- The department of a campaign's jobs in one shard, kept once in the
-- campaign's counts hash (`#d`: not a text id, which is a number), set by
-- the first job created there. A job of another department (an inbound
-- call's call-back, about a visit to another department) keeps its own in
-- `dept`. Returns what the new job must store: its department if it is not
-- the kept one, else nil.
local function own_department(counts_key, dept)
  local kept = redis.call('HGET', counts_key, '#d')
  if not kept then
    redis.call('HSET', counts_key, '#d', dept)
    return nil
  end
  return kept ~= dept and dept or nil
end

-- Keeps a job's citizen tag (`ctag`) once it leaves the queue (dialled or
-- ended), so the relay can mark its number ended after the number itself
-- was dropped (`results.rs`, `end_numbers`). A queued job holds no tag:
-- the dialer computes it from the phone. '' or nil: not known (an inbound
-- call's job, which claims no number).
local function keep_tag(job_key, tag)
  if tag and tag ~= '' then
    redis.call('HSET', job_key, 'ctag', tag)
  end
end

-- Whom a job's record is about, from a compact job (`redis/compact.rs`):
-- the campaign and contact from the job id, the official from its field,
-- the department from its field or the counts hash (`own_department`),
-- office and service from the texts interned in the counts hash.
local function compact_about(job_key, counts_key, job_id)
  local c, dept = unpack(redis.call('HMGET', job_key, 'c', 'dept'))
  local official = job_official(job_key)
  local parts = unpack_fields(c or '')
  local office, service, kept = unpack(redis.call('HMGET', counts_key, '#' .. (parts[2] or ''),
    '#' .. (parts[3] or ''), '#d'))
  dept = dept or kept
  local slash = string.find(job_id, '/', 1, true)
  return {
    campaign_id = string.sub(job_id, 1, slash - 1), contact_id = string.sub(job_id, slash + 1),
    official_id = official, department = dept or '', office = office or '', service = service or '',
    attributed = true,
  }
end

-- Drops the phone numbers from an ended compact job (retention): the
-- contact's from `c`, an official's from `oc`. Everything else stays.
local function drop_numbers(job_key)
  local c, oc, spec_json = unpack(redis.call('HMGET', job_key, 'c', 'oc', 'spec'))
  if spec_json then
    -- An inbound call's own spec (no numbers but the caller's in it).
    local spec = cjson.decode(spec_json)
    spec.contact.phone = '+'
    redis.call('HSET', job_key, 'spec', cjson.encode(spec))
  end
  if c then
    local p = unpack_fields(c)
    if p[4] and p[4] ~= '' then
      p[4] = ''
      redis.call('HSET', job_key, 'c', table.concat(p, US))
    end
  end
  if oc then
    local p = unpack_fields(oc)
    p[1] = ''
    redis.call('HSET', job_key, 'oc', table.concat(p, US))
  end
end

-- Whether a stored compact job is the contact `c` (packed as `enqueue`
-- packs it) of `official` with official's call `oc`: what a replayed
-- document must find to be a no-op. An ended job has dropped its numbers,
-- so it matches the same contact with the numbers left out.
local function same_contact(job_key, existing, c, official, oc)
  local stored_oc, state = unpack(redis.call('HMGET', job_key, 'oc', 'state'))
  local stored_official = job_official(job_key)
  stored_oc = stored_oc or ''
  if stored_official ~= official then
    return false
  end
  if existing == c and stored_oc == oc then
    return true
  end
  if not is_terminal(state) then
    return false
  end
  local function without_number(packed, index)
    local parts = unpack_fields(packed)
    if parts[index] then
      parts[index] = ''
    end
    return table.concat(parts, US)
  end
  return without_number(existing, 4) == without_number(c, 4)
    and without_number(stored_oc, 1) == without_number(oc, 1)
end

-- Ends a job in terminal `outcome` and writes its feedback record to the
-- shard's outbox in the same step, so the record exists if and only if the
-- job is terminal. `state` is the job's state before; the record's reason
-- is the job's `reason` field as the caller left it. The job's phone
-- numbers are dropped in the same step (retention: an ended contact keeps
-- no number; the relay later sets the job's expiry). The outbox entry holds
-- `record` and `ctag` (the job's citizen tag, '' for none).
local function end_job(job_key, counts_key, outbox_key, job_id, state, outcome, now)
  redis.call('HSET', job_key, 'state', outcome, 'updated_at', int(now))
  move_count(counts_key, job_key, state, outcome)
  -- The record is assembled as text; cjson only encodes strings (it would
  -- corrupt long numbers, and it turns an empty array into {}).
  local spec_json, dials, answers, queued, first, attr_json, reason, bridge, oc = unpack(redis.call('HMGET',
    job_key, 'spec', 'dials', 'answers', 'q', 'first_dial_at', 'attr', 'reason', 'bridge', 'oc'))
  local enc = cjson.encode
  -- Whom the record is about: the contact, or for an inbound call what the
  -- caller named (written by save_ivr).
  local about, direction
  if spec_json then
    -- An inbound call's job keeps its whole spec (no campaign header).
    local spec = cjson.decode(spec_json)
    about = {
      campaign_id = spec.campaign_id, contact_id = spec.contact.id,
      official_id = spec.contact.official_id, department = spec.department,
      office = spec.contact.office, service = spec.contact.service, attributed = true,
    }
    direction = spec.direction or 'outbound'
  else
    about = compact_about(job_key, counts_key, job_id)
    direction = oc and 'official' or 'outbound'
  end
  if attr_json then
    about = cjson.decode(attr_json)
  end
  answers = answers or '[]'
  local flags, seen = {}, {}
  for _, answer in ipairs(cjson.decode(answers)) do
    local flag = answer.flag
    if type(flag) == 'string' and not seen[flag] then
      seen[flag] = true
      flags[#flags + 1] = enc(flag)
    end
  end
  local record = '{"version":1'
    .. ',"record_id":' .. enc(job_id)
    .. ',"campaign_id":' .. enc(about.campaign_id)
    .. ',"contact_id":' .. enc(about.contact_id)
    .. ',"official_id":' .. enc(about.official_id)
    .. ',"department":' .. enc(about.department)
    .. ',"office":' .. enc(about.office)
    .. ',"service":' .. enc(about.service)
    .. ',"outcome":' .. enc(outcome)
    .. ',"reason":' .. (reason and enc(reason) or 'null')
    .. ',"attempts":' .. (dials or '0')
    .. ',"answers":' .. answers
    .. ',"flags":[' .. table.concat(flags, ',') .. ']'
    .. ',"queued_at_ms":' .. queued
    .. ',"first_dialled_at_ms":' .. (first or 'null')
    .. ',"finished_at_ms":' .. int(now)
    .. ',"direction":' .. enc(direction)
    .. ',"attributed":' .. (about.attributed and 'true' or 'false')
    .. (bridge and (',"bridge":' .. bridge) or '')
    .. '}'
  -- The citizen tag travels with the record (empty: the job has none, e.g.
  -- an inbound call's), so the relay marks the campaign's number ended
  -- without reading the job again.
  redis.call('XADD', outbox_key, '*', 'record', record,
    'ctag', redis.call('HGET', job_key, 'ctag') or '')
  drop_numbers(job_key)
end

-- Ends the current attempt of a live job (the caller checked the fences):
-- `kind` 'retry' (`detail`: delay in ms; past the contact's deadline it
-- ends `expired` instead) or 'terminal' (`detail`: the outcome). `reason`
-- (nil: none) is kept as the job's reason. Shared by finish.lua and
-- apply_status.lua (a terminal status concluded in the same step).
local function finish_attempt(job_key, counts_key, delayed_key, inflight_key, outbox_key,
                              job_id, state, kind, detail, reason)
  local now = now_ms()
  if reason then
    redis.call('HSET', job_key, 'reason', reason)
  else
    redis.call('HDEL', job_key, 'reason')
  end
  redis.call('ZREM', inflight_key, job_id)
  local deadline = redis.call('HGET', job_key, 'naf')
  if kind == 'retry' and deadline and now + tonumber(detail) > tonumber(deadline) then
    -- The retry would come after the contact's deadline: it ends instead.
    redis.call('HSET', job_key, 'reason', 'a retry would come after the deadline (' .. (reason or '') .. ')')
    redis.call('ZREM', delayed_key, job_id)
    end_job(job_key, counts_key, outbox_key, job_id, state, 'expired', now)
    return
  end
  if kind == 'retry' then
    redis.call('HSET', job_key, 'state', 'retry_wait', 'updated_at', int(now))
    move_count(counts_key, job_key, state, 'retry_wait')
    redis.call('ZADD', delayed_key, now + tonumber(detail), job_id)
    return
  end
  redis.call('ZREM', delayed_key, job_id)
  end_job(job_key, counts_key, outbox_key, job_id, state, detail, now)
end
