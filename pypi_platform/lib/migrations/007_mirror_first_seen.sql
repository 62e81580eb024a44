-- When the mirror first saw each file. An index without upload times (a PEP 503 page with no JSON API) leaves
-- upload_time NULL; the corpus then dates the file's commit by this instead of by 1970. Kept across syncs, so the
-- same mirror state gives the same commits.
ALTER TABLE mirror.files ADD COLUMN IF NOT EXISTS first_seen_at TIMESTAMPTZ;

-- Files mirrored before this column: the time their blob was first verified in the store (a sync stores a file's
-- blob before it publishes the file), else when their project was last published, else now.
UPDATE mirror.files f SET first_seen_at = coalesce(
    (SELECT b.stored_at FROM mirror.blobs b WHERE b.object_key = f.object_key),
    (SELECT p.synced_at FROM mirror.projects p WHERE p.name = f.project),
    now()
)
WHERE f.first_seen_at IS NULL;

ALTER TABLE mirror.files ALTER COLUMN first_seen_at SET DEFAULT now(), ALTER COLUMN first_seen_at SET NOT NULL;
