-- intake_read: take intake entries for one consumer: first its own pending
-- ones (taken before, never acknowledged: a reply lost to a timeout, or a
-- restart under the same name), then those another consumer took and left
-- idle (XAUTOCLAIM), then new ones (XREADGROUP),
-- without ever handing the daemon an entry too large to hold or one that
-- was taken too often: such an entry comes back cut to an excerpt of each
-- field, so the daemon can dead-letter it instead of loading it (a
-- document larger than its memory would kill it at every start).
-- KEYS[1] intake stream
-- ARGV[1] group  ARGV[2] consumer  ARGV[3] reclaim after (ms)
-- ARGV[4] most entries to take  ARGV[5] largest entry (bytes, field names
-- and values)  ARGV[6] most deliveries  ARGV[7] excerpt length (bytes)
-- ARGV[8] most fields shown in an excerpt
-- Reply: one array per entry taken, in order:
--   { id, cut (0 whole, 1 excerpt), deliveries, bytes, field count,
--     name, value, name, value, ... }
-- A whole entry has every field; an excerpt has the first ARGV[8] fields,
-- each name and value cut to ARGV[7] bytes. Whole entries stop being taken
-- once they add up to the largest entry, so one reply holds less than
-- twice that.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local idle = ARGV[3]
local count, largest = tonumber(ARGV[4]), tonumber(ARGV[5])
local most_deliveries, excerpt = tonumber(ARGV[6]), tonumber(ARGV[7])
local shown_fields = tonumber(ARGV[8])

local function size_of(fields)
  local bytes = 0
  for i = 1, #fields do
    bytes = bytes + string.len(fields[i])
  end
  return bytes
end

local function deliveries_of(id)
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  if pending[1] then
    return tonumber(pending[1][4])
  end
  return 1
end

local taken, whole_bytes = {}, 0
local function take(id, fields, deliveries)
  local bytes = size_of(fields)
  local reply = { id, 0, deliveries, bytes, #fields / 2 }
  if bytes > largest or deliveries > most_deliveries then
    reply[2] = 1
    for i = 1, math.min(#fields, 2 * shown_fields) do
      reply[#reply + 1] = string.sub(fields[i], 1, excerpt)
    end
  else
    for i = 1, #fields do
      reply[#reply + 1] = fields[i]
    end
    whole_bytes = whole_bytes + bytes
  end
  taken[#taken + 1] = reply
end

-- This consumer's own pending entries. The daemon reads again only once
-- it has finished (acknowledged) or given up on what it read before, so an
-- entry still pending here is one whose reply never reached it: the read
-- ran after the client had stopped waiting for it. Waiting for
-- `reclaim after` would leave the document untouched that long.
local own = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '0')
for _, entry in ipairs(own[1][2]) do
  if #taken >= count or whole_bytes >= largest then
    break
  end
  if entry[2] then
    take(entry[1], entry[2], deliveries_of(entry[1]))
  else
    -- Deleted since it was read: nothing is left to take.
    redis.call('XACK', stream, group, entry[1])
  end
end
if #taken > 0 then
  return taken
end

-- Entries left idle by another consumer.
local cursor = '0-0'
while #taken < count and whole_bytes < largest do
  local claimed = redis.call('XAUTOCLAIM', stream, group, consumer, idle, cursor, 'COUNT', 1)
  cursor = claimed[1]
  local entry = claimed[2][1]
  if entry then
    take(entry[1], entry[2], deliveries_of(entry[1]))
  end
  if cursor == '0-0' then
    break
  end
end
if #taken > 0 then
  return taken
end

-- New entries: delivered now for the first time.
while #taken < count and whole_bytes < largest do
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '>')
  if not read then
    break
  end
  local entry = read[1][2][1]
  take(entry[1], entry[2], 1)
end
return taken
