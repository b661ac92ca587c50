-- An admin's correction reason, kept with the version it wrote.
ALTER TABLE records ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE record_versions ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- The append-only audit trail: every accepted or refused write, who, what,
-- when, and the record before and after.
CREATE TABLE audit (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT  NOT NULL,
    principal   TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    record_type TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    before      BYTEA,
    after       BYTEA
);

-- Published periods: writes to them are refused unless an admin corrects.
CREATE TABLE period_locks (
    year        INTEGER NOT NULL,
    month       INTEGER NOT NULL,
    locked_by   TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    locked_at   BIGINT  NOT NULL,
    PRIMARY KEY (year, month)
);
