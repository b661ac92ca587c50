-- Request ids are scoped to the principal that sent them: one agency's id
-- never answers, nor blocks, another's. A remembered request keeps the
-- principal of the versions it wrote ('' when it wrote none).
CREATE TABLE requests_scoped (
    principal   TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    response    BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (principal, request_id)
);
INSERT INTO requests_scoped (principal, request_id, method, fingerprint, response, created_at)
SELECT COALESCE(v.updated_by, ''), r.request_id, r.method, r.fingerprint, r.response, r.created_at
FROM requests r
LEFT JOIN (SELECT request_id, MIN(updated_by) AS updated_by FROM record_versions GROUP BY request_id) v
    ON v.request_id = r.request_id;
DROP TABLE requests;
ALTER TABLE requests_scoped RENAME TO requests;
