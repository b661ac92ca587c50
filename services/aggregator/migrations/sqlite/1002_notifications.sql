-- Notifications: each unit's destinations (their addresses and secrets are
-- secrets: never logged, never answered), the outbox of events per
-- destination (derived idempotently from the stored state, so an event is
-- queued once whatever restarts or replicas do), and every delivery attempt.
CREATE TABLE notify_destinations (
    id                   TEXT    PRIMARY KEY,
    unit_code            TEXT    NOT NULL,
    kind                 INTEGER NOT NULL,
    url                  TEXT    NOT NULL,
    secret               TEXT    NOT NULL,
    updated_by           TEXT    NOT NULL,
    updated_at           INTEGER  NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since        INTEGER  NOT NULL DEFAULT 0,
    last_error           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX notify_destinations_by_unit ON notify_destinations (unit_code, id);

-- One row per event and destination. state: 1 pending, 2 delivered, 3 cancelled.
-- A pending row is claimed by setting lease_until, so two aggregators never
-- send it at once; a crashed sender's lease runs out and the row is sent again.
CREATE TABLE notify_outbox (
    event_id        TEXT    NOT NULL,
    destination_id  TEXT    NOT NULL,
    event           INTEGER NOT NULL,
    unit_code       TEXT    NOT NULL,
    unit_name       TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    created_at      INTEGER  NOT NULL,
    state           INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER  NOT NULL,
    lease_until     INTEGER  NOT NULL DEFAULT 0,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, destination_id)
);
CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt_at);
CREATE INDEX notify_outbox_by_time ON notify_outbox (created_at);

CREATE TABLE notify_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL,
    destination_id  TEXT    NOT NULL,
    at              INTEGER  NOT NULL,
    ok              INTEGER NOT NULL,
    http_status     INTEGER NOT NULL,
    error           TEXT    NOT NULL
);
CREATE INDEX notify_attempts_by_delivery ON notify_attempts (event_id, destination_id, id);
