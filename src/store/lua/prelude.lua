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
local function move_count(counts_key, job_key, from, to)
  if from == to then
    return
  end
  local officials_key = counts_key .. ':officials'
  local official = redis.call('HGET', job_key, 'official')
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

local function is_terminal(state)
  return state ~= false and state ~= nil and not LIVE[state]
end

-- Adds a ready entry for a queued job, to the urgent stream if its campaign
-- is urgent: its id and what the authorising step needs to name its keys
-- (official, citizen tag, department).
local function add_ready(stream, urgent_stream, job_id, job_key)
  local official, ctag, dept, prio = unpack(redis.call('HMGET', job_key, 'official', 'ctag',
    'dept', 'prio'))
  if prio == 'urgent' then
    stream = urgent_stream
  end
  local fields = { 'job', job_id, 'official', official }
  if ctag then
    fields[#fields + 1] = 'c'
    fields[#fields + 1] = ctag
  end
  if dept then
    fields[#fields + 1] = 'd'
    fields[#fields + 1] = dept
  end
  redis.call('XADD', stream, '*', unpack(fields))
end

-- The job hash as a flat field/value list, appended to a reply.
local function append_job(reply, job_key)
  local fields = redis.call('HGETALL', job_key)
  for i = 1, #fields do
    reply[#reply + 1] = fields[i]
  end
  return reply
end


-- Ends a job in terminal `outcome` and writes its feedback record to the
-- shard's outbox in the same step, so the record exists if and only if the
-- job is terminal. `state` is the job's state before; the record's reason
-- is the job's `reason` field as the caller left it.
local function end_job(job_key, counts_key, outbox_key, job_id, state, outcome, now)
  redis.call('HSET', job_key, 'state', outcome, 'updated_at', int(now))
  move_count(counts_key, job_key, state, outcome)
  -- The record is assembled as text; cjson only encodes strings (it would
  -- corrupt long numbers, and it turns an empty array into {}).
  local spec_json, dials, answers, queued, first, attr_json, reason, bridge = unpack(redis.call('HMGET',
    job_key, 'spec', 'dials', 'answers', 'queued_at', 'first_dial_at', 'attr', 'reason', 'bridge'))
  local spec = cjson.decode(spec_json)
  local enc = cjson.encode
  -- Whom the record is about: the contact, or for an inbound call what the
  -- caller named (written by save_ivr).
  local about = {
    campaign_id = spec.campaign_id, contact_id = spec.contact.id,
    official_id = spec.contact.official_id, department = spec.department,
    office = spec.contact.office, service = spec.contact.service, attributed = true,
  }
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
    .. ',"direction":' .. enc(spec.direction or 'outbound')
    .. ',"attributed":' .. (about.attributed and 'true' or 'false')
    .. (bridge and (',"bridge":' .. bridge) or '')
    .. '}'
  redis.call('XADD', outbox_key, '*', 'record', record)
end
