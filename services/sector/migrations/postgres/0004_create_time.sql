-- When a record's first version was written (AIP-148 create_time), kept on
-- the current row and on every version, so the change feed carries it: the
-- aggregator judges a report on time by its first push, not its last
-- correction. Rows written before this migration take it from version 1.
ALTER TABLE records ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE record_versions ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
UPDATE record_versions SET created_at = COALESCE(
    (SELECT MIN(v.updated_at) FROM record_versions v
     WHERE v.kind = record_versions.kind AND v.key = record_versions.key),
    record_versions.updated_at);
UPDATE records SET created_at = COALESCE(
    (SELECT MIN(v.updated_at) FROM record_versions v
     WHERE v.kind = records.kind AND v.key = records.key),
    records.updated_at);
