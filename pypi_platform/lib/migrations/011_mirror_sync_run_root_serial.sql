-- The upstream root's serial a run saw all of: set only on a run that checked every project that root listed,
-- with no failure and nothing deferred, under the filters whose digest is filter_fingerprint. While the root still carries
-- that serial, nothing changed upstream, and the next run of the same mirror needs no more than the root's
-- headers.
ALTER TABLE mirror.sync_runs
    ADD COLUMN IF NOT EXISTS root_serial        BIGINT,
    ADD COLUMN IF NOT EXISTS filter_fingerprint TEXT;
