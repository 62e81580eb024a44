-- The upstream root's serial a run checked in full: set only on a run that checked every project that root
-- listed, with nothing deferred, under the filters whose digest is filter_fingerprint. Each of those projects is
-- then current, or failed and marked so. While the root still carries that serial, nothing changed upstream: the
-- next run of the same mirror reads no more than the root's headers and tries the failed projects again.
ALTER TABLE mirror.sync_runs
    ADD COLUMN IF NOT EXISTS root_serial        BIGINT,
    ADD COLUMN IF NOT EXISTS filter_fingerprint TEXT;
-- The failed projects, found without reading the others.
CREATE INDEX IF NOT EXISTS projects_failed ON mirror.projects (name) WHERE status = 'failed';
