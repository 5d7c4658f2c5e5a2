-- dnc_count: the do-not-call list's live entries.
-- KEYS[1] the do-not-call index (ZSET: member citizen tag, score when its
--         entry lapses in Unix ms, '+inf' = never)
-- Reply: the number of live entries (integer)
-- Members whose entry has lapsed are pruned first (their keys have expired).
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms())
return redis.call('ZCARD', KEYS[1])
