-- Current state of every record a sector service keeps, one row per natural key.
CREATE TABLE records (
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    unit        TEXT    NOT NULL,
    stage       TEXT    NOT NULL,
    parent      TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    version     BIGINT  NOT NULL,
    seq         BIGINT  NOT NULL,
    payload     BYTEA   NOT NULL,
    updated_by  TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX records_by_region ON records (kind, region, key);
CREATE INDEX records_by_parent ON records (kind, parent, key);

-- Every version of every record. The sequence number is the change feed:
-- written in the same transaction as the record, strictly increasing, no gaps.
CREATE TABLE record_versions (
    seq         BIGINT  PRIMARY KEY,
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    version     BIGINT  NOT NULL,
    payload     BYTEA   NOT NULL,
    updated_by  TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (kind, key, version)
);

-- Answers to writes by request_id, so a retry returns the first answer.
CREATE TABLE requests (
    request_id  TEXT    PRIMARY KEY,
    method      TEXT    NOT NULL,
    fingerprint BYTEA   NOT NULL,
    response    BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL
);
