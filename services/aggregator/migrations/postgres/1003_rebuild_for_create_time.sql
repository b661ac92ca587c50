-- Records now carry their first version's time (meta.create_time), which the
-- reporting rates read. The read model is derived data: it is emptied once,
-- so that the aggregator follows every feed again from its start and every
-- record it holds carries that time. Upgrade the sector services first (their
-- migration 0004 gives their stored records the time).
DELETE FROM feed_records;
DELETE FROM feed_positions;
