-- Current state of every record a sector service keeps, one row per natural key.
CREATE TABLE records (
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    unit        TEXT    NOT NULL,
    stage       TEXT    NOT NULL,
    parent      TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    payload     BLOB    NOT NULL,
    updated_by  TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX records_by_region ON records (kind, region, key);
CREATE INDEX records_by_parent ON records (kind, parent, key);

-- Every version of every record. The sequence number is the change feed:
-- written in the same transaction as the record, strictly increasing, no gaps.
CREATE TABLE record_versions (
    seq         INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    payload     BLOB    NOT NULL,
    updated_by  TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (kind, key, version)
);

-- Answers to writes by request_id, so a retry returns the first answer.
CREATE TABLE requests (
    request_id  TEXT    PRIMARY KEY,
    method      TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    response    BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
