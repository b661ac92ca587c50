-- Request ids are scoped to the principal that sent them: one agency's id
-- never answers, nor blocks, another's. A remembered request keeps the
-- principal of the versions it wrote ('' when it wrote none).
ALTER TABLE requests ADD COLUMN principal TEXT NOT NULL DEFAULT '';
UPDATE requests r SET principal = v.updated_by
FROM (SELECT request_id, MIN(updated_by) AS updated_by FROM record_versions GROUP BY request_id) v
WHERE v.request_id = r.request_id;
ALTER TABLE requests DROP CONSTRAINT requests_pkey;
ALTER TABLE requests ADD PRIMARY KEY (principal, request_id);
