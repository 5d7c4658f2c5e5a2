-- intern_texts: the ids of texts in a text table, each text given an id
-- the first time it is seen (`intern`); an id never changes meaning.
-- KEYS[1] the text table (hash)
-- ARGV[1..] the texts
-- Reply: {id, ...}, one per text, in order.
local text_id = batch_interner(KEYS[1])
local reply = {}
for i = 1, #ARGV do
  reply[i] = text_id(ARGV[i])
end
return reply
