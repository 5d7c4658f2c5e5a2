-- read_ready: hand up to `count` entries of one shard's ready streams to a
-- consumer: the urgent stream first, then the other; in each, first entries
-- other consumers left pending too long, then new ones.
-- A script (rather than a pipeline) so the per-shard count is exact.
-- KEYS[1] ready stream  KEYS[2] urgent ready stream
-- ARGV[1] consumer   ARGV[2] count   ARGV[3] reclaim-after (ms)
-- Reply: flat {entry id, job id, urgent ('1' | ''), ...}. An entry holds
-- only its job id; the caller reads what it needs of the job next
-- (`redis/dispatch.rs`). Entries without a job id are acknowledged and
-- deleted here: nothing could ever process them.
local count = tonumber(ARGV[2])
local reply = {}
local function take(stream, urgent, entries)
  for _, entry in ipairs(entries) do
    local id, fields = entry[1], entry[2]
    local job
    if type(fields) == 'table' then
      for i = 1, #fields, 2 do
        if fields[i] == 'job' then job = fields[i + 1] end
      end
    end
    if job then
      reply[#reply + 1] = id
      reply[#reply + 1] = job
      reply[#reply + 1] = urgent
    else
      redis.call('XACK', stream, 'dialers', id)
      redis.call('XDEL', stream, id)
    end
  end
end
local function read(stream, urgent)
  local room = count - #reply / 3
  if room <= 0 then
    return
  end
  local claimed = redis.call('XAUTOCLAIM', stream, 'dialers', ARGV[1], ARGV[3], '0-0',
    'COUNT', room)
  take(stream, urgent, claimed[2])
  room = count - #reply / 3
  if room > 0 then
    local new = redis.call('XREADGROUP', 'GROUP', 'dialers', ARGV[1], 'COUNT', room,
      'STREAMS', stream, '>')
    if new then
      take(stream, urgent, new[1][2])
    end
  end
end
read(KEYS[2], '1')
read(KEYS[1], '')
return reply
