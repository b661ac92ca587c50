-- Every token the aggregator has accepted, with its first and last use (ms
-- since the epoch): the admin's list of live screens and agencies
-- (TokensService.ListTokenUses). Written every 30 s by each replica.
CREATE TABLE token_uses (
    jti         TEXT    PRIMARY KEY,
    subject     TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    first_used  INTEGER NOT NULL,
    last_used   INTEGER NOT NULL
);
