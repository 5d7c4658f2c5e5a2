-- read_ready: hand up to `count` entries of one shard's ready stream to a
-- consumer: first entries other consumers left pending too long, then new ones.
-- A script (rather than a pipeline) so the per-shard count is exact.
-- KEYS[1] ready stream
-- ARGV[1] consumer   ARGV[2] count   ARGV[3] reclaim-after (ms)
-- Reply: flat {entry id, job id, official id, citizen tag, department, ...}
-- ('' for a tag or department an entry of an earlier version lacks).
-- Entries missing the job or official are acknowledged and deleted here:
-- nothing could ever process them.
local count = tonumber(ARGV[2])
local reply = {}
local function take(entries)
  for _, entry in ipairs(entries) do
    local id, fields = entry[1], entry[2]
    local job, official, citizen, dept
    if type(fields) == 'table' then
      for i = 1, #fields, 2 do
        if fields[i] == 'job' then job = fields[i + 1] end
        if fields[i] == 'official' then official = fields[i + 1] end
        if fields[i] == 'c' then citizen = fields[i + 1] end
        if fields[i] == 'd' then dept = fields[i + 1] end
      end
    end
    if job and official then
      reply[#reply + 1] = id
      reply[#reply + 1] = job
      reply[#reply + 1] = official
      reply[#reply + 1] = citizen or ''
      reply[#reply + 1] = dept or ''
    else
      redis.call('XACK', KEYS[1], 'dialers', id)
      redis.call('XDEL', KEYS[1], id)
    end
  end
end
local claimed = redis.call('XAUTOCLAIM', KEYS[1], 'dialers', ARGV[1], ARGV[3], '0-0',
  'COUNT', count)
take(claimed[2])
local room = count - #reply / 5
if room > 0 then
  local read = redis.call('XREADGROUP', 'GROUP', 'dialers', ARGV[1], 'COUNT', room,
    'STREAMS', KEYS[1], '>')
  if read then
    take(read[1][2])
  end
end
return reply
