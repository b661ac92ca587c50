-- The aggregator's read model: the latest version of every record of every
-- feed, each feed's position, each source's catalog, and the supervision
-- reports as they were taken. Numbered from 1001 so that it shares a
-- database with the city sector engine's migrations.
CREATE TABLE feed_records (
    sector      INTEGER NOT NULL,
    record_type TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    change      BYTEA   NOT NULL,
    PRIMARY KEY (sector, record_type, key)
);

CREATE TABLE feed_positions (
    sector      INTEGER PRIMARY KEY,
    last_seq    BIGINT  NOT NULL
);

CREATE TABLE feed_catalogs (
    sector      INTEGER PRIMARY KEY,
    catalog     BYTEA   NOT NULL
);

CREATE TABLE supervision_reports (
    report_date TEXT    PRIMARY KEY,
    report      BYTEA   NOT NULL
);
