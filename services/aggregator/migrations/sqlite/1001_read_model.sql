-- The aggregator's read model: the latest version of every record of every
-- feed, each feed's position, each source's catalog, and the supervision
-- reports as they were taken. Numbered from 1001 so that it shares a
-- database with the city sector engine's migrations.
CREATE TABLE feed_records (
    sector      INTEGER NOT NULL,
    record_type TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    change      BLOB    NOT NULL,
    PRIMARY KEY (sector, record_type, key)
);

CREATE TABLE feed_positions (
    sector      INTEGER PRIMARY KEY,
    last_seq    INTEGER NOT NULL
);

CREATE TABLE feed_catalogs (
    sector      INTEGER PRIMARY KEY,
    catalog     BLOB    NOT NULL
);

CREATE TABLE supervision_reports (
    report_date TEXT    PRIMARY KEY,
    report      BLOB    NOT NULL
);
