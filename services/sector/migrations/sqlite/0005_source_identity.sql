-- The identity of this database's change feed (GetCatalog's source_id):
-- made once with the database, kept by a backup and its restore, new for a
-- new database. A follower that finds it changed rebuilds from sequence 0.
CREATE TABLE source_identity (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    id       TEXT    NOT NULL
);
INSERT INTO source_identity (only_row, id) VALUES (1, lower(hex(randomblob(16))));
