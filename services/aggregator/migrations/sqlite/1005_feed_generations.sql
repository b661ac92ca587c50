-- A feed's generation: raised when a replica rebuilds the sector from
-- sequence 0 (its source was replaced or restored from a backup), with when
-- and why. A replica stores a batch only under the generation it follows,
-- so one still reading the old source can never mix its changes in.
ALTER TABLE feed_positions ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE feed_positions ADD COLUMN rebuilt_at BIGINT;
ALTER TABLE feed_positions ADD COLUMN rebuild_reason TEXT NOT NULL DEFAULT '';
